// SessionClient against behaviours a correct host never shows, played by a
// scripted fake (fixtures/fake-host.ts, which says why it exists): replies out
// of order, late or never, unopenable replies and acks, binary frames,
// plaintext errors the client did not cause, policy closes, another protocol.
// Everything else is tested against the real host in session-client.test.ts.
import t from 'tap'
import { HostError, SessionClient, type ConnectOptions } from '@rag-session-host/client'
import { rejection, within } from '../helpers/wait.js'
import { FakeHost, type FakeHostOptions, type Reply } from './fixtures/fake-host.js'

const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 50 }

async function setup(t: { teardown(fn: () => unknown): void }, opts: ConnectOptions = {}, hostOpts: FakeHostOptions = {}): Promise<{ host: FakeHost; client: SessionClient }> {
  const host = await FakeHost.start(hostOpts)
  const client = await SessionClient.connect(host.url, { reconnect: FAST_RECONNECT, requestTimeoutMs: 10_000, ...opts })
  t.teardown(async () => {
    await client.close()
    await host.close()
  })
  return { host, client }
}

t.test('replies are correlated by id, counters strictly increase from 1', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('s')
  // Hold every appendMessage and answer them in reverse order (a real host answers a connection in order).
  const held: { req: Record<string, unknown>; resolve: (r: Reply) => void }[] = []
  host.handler = (req) => {
    if (req.type !== 'appendMessage') return undefined
    return new Promise<Reply>((resolve) => {
      held.push({ req, resolve })
      if (held.length === 5) for (const h of [...held].reverse()) h.resolve({ ok: true, fields: { seq: Number(h.req.content), attempt: 1 } })
    })
  }
  const results = await within(Promise.all([1, 2, 3, 4, 5].map((n) => client.appendMessage('user', String(n)))), 5000, 'five replies')
  t.same(
    results.map((r) => r.seq),
    [1, 2, 3, 4, 5],
    'each caller got its own reply',
  )
  t.same(
    host.requests.map((r) => r.counter),
    [1n, 2n, 3n, 4n, 5n],
  )
  const ids = host.requests.map((r) => r.request.id)
  t.equal(new Set(ids).size, 5, 'unique request ids')
})

t.test('timeout rejects with a retryable HostError; the connection keeps working', async (t) => {
  const { host, client } = await setup(t, { requestTimeoutMs: 300 })
  await client.openSession('slow', { timeoutMs: 10_000 })
  let late: (() => void) | undefined
  host.handler = (req, conn) => {
    if (req.type !== 'ping' || late) return undefined
    late = () => conn.sendSealed(String(req.id), { type: 'pingResponse', id: req.id, ok: true, ts: 1 })
    return { ignore: true }
  }
  const err = await rejection(client.ping())
  t.equal(err.code, 'timeout')
  t.equal(err.retryable, true)
  t.equal(err.requestId, host.requests.at(-1)?.request.id)
  late?.() // a reply after the timeout is ignored
  const next = await client.request('ping', {}, { timeoutMs: 10_000 })
  t.type(next.ts, 'number')
  t.not(next.ts, 1, 'the next request gets its own reply, not the late one')
  host.handler = () => ({ ignore: true })
  const perCall = await rejection(client.request('ping', {}, { timeoutMs: 50 }), 2000)
  t.equal(perCall.code, 'timeout', 'per-request timeout')
})

t.test('host errors: plaintext error frame, unopenable reply', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('errs')
  host.handler = (req) => {
    if (req.type === 'ping') return { plainError: 'replayed' }
    if (req.type === 'sessionInfo') return { wrongKey: true }
    return undefined
  }
  const plain = await rejection(client.ping())
  t.match(plain, { code: 'replayed', retryable: false, requestId: host.requests.at(-1)?.request.id })
  const unopenable = await rejection(client.sessionInfo())
  t.equal(unopenable.code, 'decrypt_failed')
  host.handler = undefined
  t.equal((await client.appendMessage('user', 'fine')).seq, 1)
})

t.test('a binary frame from the host is an error event; requests carry on', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('bin')
  const error = client.next('error') as Promise<[Error]>
  host.conns[0]?.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  const [err] = await within(error, 5000, 'error event')
  t.ok(err instanceof HostError)
  t.match(err, { code: 'protocol_error', retryable: false })
  t.type((await client.ping()).ts, 'number')
})

t.test('an init ack that does not open with K is refused', async (t) => {
  const { host, client } = await setup(t)
  host.initHook = () => 'wrong_key'
  t.equal((await rejection(client.openSession('x'))).code, 'decrypt_failed')
})

t.test('close code 1009: the largest in-flight request gets limit_exceeded, others disconnected', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('big')
  host.handler = (req, conn) => {
    if (req.type === 'uploadVectors') conn.ws.close(1009, 'too big')
    return { ignore: true }
  }
  const small = client.ping()
  const big = client.uploadVectors([{ id: 'a', vector: new Array(2000).fill(0.5) }])
  t.match(await rejection(big), { code: 'limit_exceeded', retryable: false })
  t.match(await rejection(small), { code: 'disconnected', retryable: true })
  host.handler = undefined
  await within(client.next('reconnected'), 5000, 'reconnected after 1009')
  t.type((await client.ping()).ts, 'number')
})

t.test('repeated policy closes (1008) stop the reconnect loop', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('policy')
  host.initHook = (_frame, conn) => (conn.index > 0 ? { close: 1008 } : 'default')
  const closed = client.next('closed')
  host.conns[0]?.ws.close(1008, 'policy')
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.match(reason, { code: 'disconnected', retryable: false })
  t.match(reason.message, /1008/)
  t.equal(host.conns.length, 3, 'three closes in a row, then no more attempts')
})

t.test('connect refuses a host of another protocol', async (t) => {
  const host = await FakeHost.start({ protocol: 2 })
  t.teardown(() => host.close())
  t.match(await rejection(SessionClient.connect(host.url)), { code: 'protocol_error', retryable: false })
  t.equal(host.hostInfoGets, 1)
  t.equal(host.conns.length, 0, 'no socket opened')
})
