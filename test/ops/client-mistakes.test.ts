// Error level means a fault of the host. A client can send anything: every
// kind of bad input, over the WebSocket and over HTTP, must be answered in its
// typed way and log nothing at error or fatal, and every line names its event.
import t from 'tap'
import { buildSessionInit, generateIdentity } from '@rag-session-host/client'
import { startHost } from '../helpers/host.js'
import { Wire, tryUpgrade } from '../helpers/wire.js'

const TOKEN = 'client-mistakes-admin-token-1'

t.test('no bad input a client can send logs at error level', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN, maxFrameBytes: 64 * 1024, maxInflightBytes: 1024 * 1024, maxConnectionsPerSession: 1 })
  const identity = generateIdentity()

  // Frames that are not the protocol.
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  const answered = async (frame: unknown, id: string | null): Promise<void> => {
    w.send(frame)
    const reply = await w.waitFor((f) => f.id === id && f.ok === false)
    t.type(reply.error?.code, 'string', `typed answer to ${JSON.stringify(frame).slice(0, 60)}`)
  }
  await answered(Buffer.from([1, 2, 3]), null)
  await answered('not json', null)
  await answered('[1,2]', null)
  await answered(Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1'), null)
  await answered({ type: 'teleport', id: 'x1' }, 'x1')
  await answered({ type: 'encrypted_message', id: 'x2' }, 'x2')
  await answered({ type: 'encrypted_message', id: 'x3', session_id: 'nope', nonce: 'AAAA', ciphertext: 'AAAA' }, 'x3')
  await answered({ type: 'encrypted_session_init', id: 'x4', session_id: 'bad id!', eph_pub: 'x', nonce: 'y', ciphertext: 'z' }, 'x4')
  // An init sealed to another host key, a stale one, a replayed one.
  const foreign = buildSessionInit({ hostPublicKey: new Uint8Array(32).fill(9), requestId: 'x5', sessionId: 's', identity })
  await answered(foreign.frame, 'x5')
  const stale = buildSessionInit({ hostPublicKey: host.hostPublicKey, requestId: 'x6', sessionId: 's', identity, ts: Date.now() - 3_600_000 })
  await answered(stale.frame, 'x6')
  const ok = await w.init({ sessionId: 's', identity })
  t.ok(ok.ack.ok)
  await answered({ ...ok.frame, id: 'x7' }, 'x7')
  // Another identity's session, and one connection too many for it.
  const other = await Wire.open(host.wsUrl, host.hostPublicKey)
  t.equal((await other.init({ sessionId: 's', identity: generateIdentity() })).ack.error?.code, 'forbidden')
  t.equal((await other.init({ sessionId: 's', identity })).ack.error?.code, 'limit_exceeded')
  // Sealed requests that are wrong.
  for (const [op, fields] of [
    ['teleport', {}],
    ['uploadVectors', { vectors: [{ id: '', vector: [Number.NaN] }] }],
    ['uploadVectors', { vectors: 'many' }],
    ['searchVectors', { vector: [1, 2], k: 0 }],
    ['searchVectors', { vector: [1, 2], filter: { $regex: 'x' } }],
    ['appendMessage', { role: 'god', content: 'x' }],
    ['getHistory', { limit: -1 }],
  ] as const) {
    const reply = await w.request(op, fields)
    t.ok(reply.ok === false || (op === 'uploadVectors' && reply.rejected?.length), `${op} refused`)
  }
  // A sealed frame that does not open, and a counter that goes back.
  const sealed = w.seal('ping')
  w.send({ ...sealed, ciphertext: Buffer.alloc(40).toString('base64') })
  t.equal((await w.reply(sealed.id)).error?.code, 'decrypt_failed')
  w.counter -= 5n
  const back = w.seal('ping')
  w.send(back)
  t.equal((await w.reply(back.id)).error?.code, 'replayed')
  // A frame over MAX_FRAME_BYTES closes the socket with 1009.
  const big = await Wire.open(host.wsUrl, host.hostPublicKey)
  big.send('x'.repeat(100 * 1024))
  t.equal((await big.closed).code, 1009)

  // HTTP: unknown paths, a plain GET of the WebSocket path, admin calls without the token or with bad input.
  t.equal((await fetch(`${host.url}/nowhere`)).status, 404)
  t.equal((await fetch(`${host.url}/v1/ws`)).status, 426)
  t.equal((await fetch(`${host.url}/v1/admin/stats`)).status, 401)
  const auth = { authorization: `Bearer ${TOKEN}` }
  t.equal((await fetch(`${host.url}/v1/admin/sessions?cursor=%%%`, { headers: auth })).status, 400)
  t.equal((await fetch(`${host.url}/v1/admin/sweep`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{' })).status, 400)
  const junkPost = await fetch(`${host.url}/v1/host`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
  t.ok(junkPost.status >= 400 && junkPost.status < 500, `a junk POST is a 4xx (${junkPost.status})`)
  t.equal((await tryUpgrade(host.wsUrl, { headers: { origin: 'null' } })).status, 101, 'no ALLOWED_ORIGINS: any origin')

  await w.close()
  await other.close()
  await host.close()
  const loud = host.log.lines.filter((l) => l.level === 'error' || l.level === 'fatal')
  t.same(loud, [], 'nothing at error or fatal')
  t.same(
    host.log.lines.filter((l) => typeof l.event !== 'string'),
    [],
    'every line names its event',
  )
  t.equal(host.log.events('framework.log').filter((l) => l.level !== 'info' && l.level !== 'debug').length, 0, "no framework line above info (Fastify's own)")
})
