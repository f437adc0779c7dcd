// The log stream of a whole session: stable event names with session,
// connection and request ids, and never a key, ciphertext, plaintext,
// metadata or vector.
import t from 'tap'
import { Writable } from 'node:stream'
import { SessionClient, generateIdentity } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { startHost } from '../helpers/host.js'
import { InboundTap } from '../helpers/inbound-tap.js'
import { Wire } from '../helpers/wire.js'
import { captureLogger } from '../helpers/silent-logger.js'
import { createLogger, prettyStream } from '../../src/ops/logger.js'

t.test('a whole session logs events with ids and no secrets', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const SECRET_CONTENT = 'SECRET-CONTENT-7f3a9b'
  const SECRET_META = 'SECRET-META-c41d2e'

  // Raw wire first, so the test knows the exact key and ciphertexts sent.
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const init = await wire.init({ sessionId: 'logged', identity })
  const sent = [init.frame.ciphertext as string]
  const frame = wire.seal('appendMessage', { role: 'user', content: SECRET_CONTENT })
  sent.push(frame.ciphertext)
  wire.send(frame)
  await wire.reply(frame.id)
  const vector = [0.123456789, 0.987654321, 0.555555555]
  const up = wire.seal('uploadVectors', { vectors: [{ id: 'v1', vector, metadata: { note: SECRET_META } }] })
  sent.push(up.ciphertext)
  wire.send(up)
  await wire.reply(up.id)
  await wire.request('searchVectors', { vector, filter: { note: SECRET_META } })
  await wire.request('getHistory')
  await wire.request('teleport') // a failing request
  wire.send({ ...wire.seal('ping'), ciphertext: encodeBase64(new Uint8Array(40)) }) // decrypt failure
  await wire.waitFor((f) => f.type === 'error')

  // And the SDK, with its reconnect machinery; the tap sees its keys and ciphertexts.
  const tap = InboundTap.attach(host)
  const client = await SessionClient.connect(host.url, { identity })
  await client.openSession('logged')
  await client.appendMessage('assistant', SECRET_CONTENT)
  await client.uploadVectors([{ id: 'v2', vector: new Float32Array([0.25, 0.5, 0.75]), metadata: { other: SECRET_META } }])
  await client.close()
  await wire.close()
  await host.close()

  const text = host.log.raw.join('\n')
  const forbidden = [
    SECRET_CONTENT,
    SECRET_META,
    encodeBase64(init.key),
    ...tap.inits.map((i) => i.sessionKey),
    ...tap.frames.map((f) => f.frame.ciphertext as string),
    identity.secretKey,
    encodeBase64(host.hostSecretKey),
    ...sent,
    '0.123456789',
    '0.987654321',
    encodeBase64(new Uint8Array(new Float32Array([0.25, 0.5, 0.75]).buffer)),
  ]
  t.equal(tap.inits.length, 1, "the SDK's session key is among them")
  t.equal(tap.frames.length, 3, 'and the ciphertexts of its init and two requests')
  for (const secret of forbidden) t.notOk(text.includes(secret), `log never holds ${secret.slice(0, 12)}…`)

  for (const line of host.log.lines) {
    t.type(line.event, 'string', `every line has an event name: ${String(line.msg)}`)
  }
  const expectIds = ['session.created', 'session.reinit', 'key.rotated', 'vectors.uploaded', 'request.failed']
  for (const name of expectIds) {
    const lines = host.log.events(name)
    t.ok(lines.length > 0, `${name} logged`)
    for (const l of lines) {
      t.equal(l.session_id, 'logged', `${name} has session_id`)
      t.type(l.session_seq, 'number', `${name} has session_seq`)
      t.match(l.conn_id, /^c_/, `${name} has conn_id`)
      t.type(l.req_id, 'string', `${name} has req_id`)
    }
  }
  const reinit = host.log.events('session.reinit')
  t.ok(reinit.length > 0, 'the SDK re-opened the session')
  for (const l of reinit) {
    t.type(l.vectors, 'number', 'session.reinit logs the vector count, not "[redacted]"')
    t.type(l.history_total, 'number')
  }
  t.ok(host.log.events('connection.opened').length >= 2)
  t.ok(host.log.events('connection.closed').length >= 2)
  t.ok(host.log.events('request.rejected').some((l) => l.code === 'decrypt_failed'))
  t.ok(host.log.events('request.failed').some((l) => l.code === 'bad_request'))
})

t.test('redaction censors secret fields but keeps counts under the same names', async (t) => {
  const log = captureLogger('info')
  log.logger.info({ event: 'probe', messages: 12, vectors: 0, content: 'SECRET', metadata: { a: 1 }, nested: { vector: [0.5, 0.25], key: 7 } }, 'x')
  const [line] = log.events('probe')
  t.equal(line?.messages, 12, 'a count named messages stays')
  t.equal(line?.vectors, 0, 'a zero count stays')
  t.equal(line?.content, '[redacted]')
  t.equal(line?.metadata, '[redacted]', 'an object under a secret name is censored whole')
  t.same(line?.nested, { vector: '[redacted]', key: 7 }, 'an array of numbers is censored; a lone number is not')
})

t.test('HTTP lines: req_id (never reqId), unknown paths at debug as http.not_found', async (t) => {
  const host = await startHost(t)
  t.equal((await fetch(`${host.url}/v1/host`)).status, 200)
  const missing = await fetch(`${host.url}/no/such/path?token=SECRET-QUERY`)
  t.equal(missing.status, 404)
  await missing.body?.cancel()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'ids', identity: generateIdentity() })
  await wire.request('teleport')
  await wire.close()
  await host.close()

  const notFound = host.log.events('http.not_found')
  t.equal(notFound.length, 1)
  t.match(notFound[0], { level: 'debug', method: 'GET', path: '/no/such/path' })
  t.type(notFound[0]?.req_id, 'string', 'with the request id')
  t.notOk(
    host.log.raw.some((l) => l.includes('SECRET-QUERY')),
    'the query string is not logged',
  )
  t.notOk(
    host.log.lines.some((l) => /not found/i.test(String(l.msg)) && l.event !== 'http.not_found'),
    "no Fastify 'Route ... not found' line",
  )
  const http = host.log.events('http.request')
  t.ok(http.length >= 2)
  for (const l of http) t.type(l.req_id, 'string', `http.request ${String(l.url)} has req_id`)
  t.match(host.log.events('request.failed'), [{ req_id: /./ }], 'WebSocket request lines use the same name')
  t.notOk(
    host.log.lines.some((l) => 'reqId' in l),
    'no line carries reqId',
  )
})

/** A stream that keeps what is written to it, as text. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'))
      cb()
    },
  })
  return { stream, text: () => chunks.join('') }
}

t.test('LOG_FORMAT=pretty: readable lines through pino-pretty, redacted the same way', async (t) => {
  const out = sink()
  const log = createLogger('info', out.stream, 'pretty')
  log.info({ event: 'session.reinit', vectors: 12, content: 'SECRET-PRETTY' }, 'session re-opened')
  log.debug({ event: 'hidden' }, 'below the level')
  const text = out.text()
  t.match(text, /INFO.*session\.reinit session re-opened/, 'level, event and message on one line')
  t.match(text, /vectors: 12/, 'a count is kept')
  t.match(text, /content: "\[redacted\]"/, 'a secret field is censored')
  t.notMatch(text, /SECRET-PRETTY/)
  t.notMatch(text, /hidden/, 'the level applies')
  t.throws(() => JSON.parse(text.split('\n')[0]!), 'not JSON')
})

t.test('LOG_FORMAT=pretty without pino-pretty installed fails with a clear message', async (t) => {
  const missing = (id: string): never => {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' })
  }
  t.throws(() => prettyStream(undefined, missing), /LOG_FORMAT=pretty needs pino-pretty, a dev dependency.*LOG_FORMAT=json/)
  const broken = (): never => {
    throw new Error('something else')
  }
  t.throws(() => prettyStream(undefined, broken), /something else/, 'other failures are not disguised')
  t.throws(() => createLogger('info', undefined, 'xml'), /unknown log format/)
})
