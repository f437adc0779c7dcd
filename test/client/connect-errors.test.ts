// Every way SessionClient.connect can fail before a host answers is a
// HostError: a URL it cannot use is `bad_request` (never a plain TypeError),
// and a refused connection is `disconnected` with the system code in its
// message, both when GET /v1/host is fetched and when the key is pinned and
// the WebSocket is opened directly.
import t from 'tap'
import { createServer } from 'node:net'
import { HostError, SessionClient } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'

/** A port on 127.0.0.1 that nothing listens on: bound by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function failure(promise: Promise<unknown>): Promise<HostError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof HostError) return err
    throw new Error(`rejected with a ${(err as Error)?.constructor?.name ?? typeof err}, not a HostError: ${String(err)}`)
  }
  throw new Error('resolved, but should have failed')
}

t.test('a URL the client cannot use: bad_request', async (t) => {
  for (const url of ['not a url', '', '127.0.0.1:8080', 'http//missing-colon']) {
    const err = await failure(SessionClient.connect(url))
    t.match(err, { code: 'bad_request', retryable: false, message: `not a URL: ${JSON.stringify(url)}` }, JSON.stringify(url))
    t.ok(err.cause instanceof TypeError, 'the URL parser error is kept as the cause')
  }
  for (const url of ['ftp://127.0.0.1/', 'file:///tmp/x', 'mailto:someone@example.com']) {
    const err = await failure(SessionClient.connect(url))
    t.match(err, { code: 'bad_request', retryable: false, message: /^unsupported URL scheme/ }, url)
  }
})

t.test('a pinned host key that is not base64 of 32 bytes: bad_request', async (t) => {
  for (const hostPublicKey of ['', 'not base64', encodeBase64(new Uint8Array(31)), encodeBase64(new Uint8Array(32)).replace('=', '')]) {
    const err = await failure(SessionClient.connect('http://127.0.0.1:1', { hostPublicKey }))
    t.match(err, { code: 'bad_request', retryable: false, message: 'hostPublicKey must be base64 of 32 bytes' }, JSON.stringify(hostPublicKey))
  }
})

t.test('a refused connection: disconnected, retryable, ECONNREFUSED in the message', async (t) => {
  const port = await closedPort()
  for (const base of [`http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`]) {
    const err = await failure(SessionClient.connect(base, { requestTimeoutMs: 5000 }))
    t.match(err, { code: 'disconnected', retryable: true }, `${base}, fetching GET /v1/host`)
    t.match(err.message, `http://127.0.0.1:${port}/v1/host`, 'the message names what was fetched')
    t.match(err.message, 'ECONNREFUSED', 'and the system code')
  }
  const pinned = await failure(SessionClient.connect(`http://127.0.0.1:${port}`, { hostPublicKey: encodeBase64(new Uint8Array(32).fill(7)), requestTimeoutMs: 5000 }))
  t.match(pinned, { code: 'disconnected', retryable: true }, 'key pinned: opening the WebSocket directly')
  t.match(pinned.message, `ws://127.0.0.1:${port}/v1/ws`, 'the message names the socket URL')
  t.match(pinned.message, 'ECONNREFUSED', 'and the system code')
})
