// Connections and the session lifecycle over real sockets: keys die with their
// socket, sessions detach, are abandoned, dropped, and evicted; dead sockets
// are closed by the heartbeat.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await sleep(10)
  }
}

t.test('a closed socket forgets its key; the session detaches and resumes', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'life', identity })
  await a.request('appendMessage', { role: 'user', content: 'kept' })
  t.equal(host.server.ctx.keys.size, 1)
  await a.close()
  await until(() => host.server.ctx.keys.size === 0)
  const session = host.server.ctx.sessions.get('life')!
  t.equal(session.status, 'detached')
  t.equal(session.connections.size, 0)
  t.ok(host.log.events('connection.closed').length >= 1)

  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { info } = await b.init({ sessionId: 'life', identity })
  t.equal(info?.status, 'active')
  t.equal(info?.history_total, 1)
})

t.test('moving a connection to another session unbinds it from the first', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'first', identity })
  await w.init({ sessionId: 'second', identity })
  t.equal(host.server.ctx.sessions.get('first')!.status, 'detached')
  t.equal(host.server.ctx.sessions.get('second')!.connections.size, 1)
  const probe = { ...w.seal('ping') }
  w.send({ ...probe, session_id: 'first' })
  t.equal((await w.reply(probe.id)).error.code, 'no_session', 'no key for the first session any more')
})

t.test('grace, abandonment (auto_recovered), retention and drop', async (t) => {
  const host = await startHost(t, { reconnectGraceMs: 100, retentionMs: 300, sweepIntervalMs: 20 })
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'gone', identity })
  await a.request('appendMessage', { role: 'user', content: 'x' })
  await a.close()
  const session = host.server.ctx.sessions.get('gone')!
  await until(() => session.status === 'abandoned')
  t.equal(session.autoRecovered, true)

  // An init resumes an abandoned session with its data.
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { info } = await b.init({ sessionId: 'gone', identity })
  t.equal(info?.status, 'active')
  t.equal(info?.history_total, 1)
  t.equal((await b.request('sessionInfo')).auto_recovered, true)
  await b.close()
  await until(() => host.server.ctx.sessions.get('gone') === undefined, 5000)
  t.ok(host.log.events('session.dropped').some((l) => l.session_id === 'gone' && l.reason === 'retention'))
})

t.test('an ended session still bound is evicted after retention, with a notice', async (t) => {
  const host = await startHost(t, { retentionMs: 200, sweepIntervalMs: 20 })
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'ev', identity: generateIdentity() })
  await w.request('endSession')
  const notice = w.open(await w.waitFor((f) => f.id === null, 5000))
  t.same(notice, { type: 'session_status', status: 'evicted', reason: 'retention' })
  await until(() => host.server.ctx.keys.size === 0)
  const probe = w.seal('ping')
  w.send(probe)
  t.equal((await w.reply(probe.id)).error.code, 'no_session')
})

t.test('the heartbeat closes a socket that stops answering pings', async (t) => {
  const host = await startHost(t, { heartbeatIntervalMs: 50 })
  const silent = await Wire.open(host.wsUrl, host.hostPublicKey, { autoPong: false })
  const polite = await Wire.open(host.wsUrl, host.hostPublicKey)
  await silent.init({ sessionId: 'hb', identity: generateIdentity() })
  const closed = await silent.closed
  t.equal(closed.code, 1006, 'terminated without a close handshake')
  await until(() => host.server.ctx.sessions.get('hb')?.status === 'detached')
  t.ok(host.log.events('connection.stale').length >= 1)
  await sleep(200)
  t.equal(polite.ws.readyState, polite.ws.OPEN, 'a socket that answers pings stays open')
})

t.test('shutdown tells bound clients and closes with 1001', async (t) => {
  const host = await startHost(t)
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'bye', identity: generateIdentity() })
  const last = w.seal('appendMessage', { role: 'user', content: 'just before shutdown' })
  w.send(last)
  await until(() => host.server.ctx.metrics !== undefined) // let the frame reach the host
  await sleep(20)
  const closing = host.server.close()
  const answered = w.open(await w.reply(last.id))
  t.equal(answered.ok, true, 'a request received before shutdown is still answered')
  const notice = w.open(await w.waitFor((f) => f.id === null))
  t.same(notice, { type: 'session_status', status: 'shutting_down', reason: 'host is shutting down' })
  t.equal((await w.closed).code, 1001)
  await closing
})

t.test('a request whose session is dropped under it still gets exactly one reply', async (t) => {
  // Store of one: an ended session (still bound) is reclaimed by the next new session.
  const host = await startHost(t, { maxSessions: 1, exactSearchMaxVectors: 100 })
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'doomed', identity: generateIdentity() })
  const vectors = Array.from({ length: 400 }, (_, i) => ({ id: `v${i}`, vector: Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j + 1)) }))
  t.equal((await a.request('uploadVectors', { vectors })).uploaded, 400)
  // Wait until the HNSW index serves, so the search below awaits its worker.
  for (let i = 0; i < 200 && (await a.request('searchVectors', { vector: vectors[0]!.vector })).exact; i++) await sleep(10)
  await a.request('endSession')

  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const search = a.seal('searchVectors', { vector: vectors[1]!.vector, k: 3 })
  const { buildSessionInit } = await import('@rag-session-host/client')
  const init = buildSessionInit({ sessionId: 'newcomer', requestId: 'nb', hostPublicKey: host.hostPublicKey, identity: generateIdentity() })
  a.send(search)
  b.send(init.frame)
  t.equal((await b.reply('nb')).ok, true, 'the newcomer reclaimed the ended session')

  const reply = await a.reply(search.id)
  t.equal(reply.type, 'error', 'answered in plaintext: the key is gone')
  t.equal(reply.error.code, 'no_session')
  t.equal(reply.id, search.id)
  const notice = a.open(await a.waitFor((f) => f.id === null))
  t.same(notice, { type: 'session_status', status: 'evicted', reason: 'reclaimed' })
  await sleep(50)
  t.equal(a.frames.filter((f) => f.id === search.id).length, 0, 'no second reply')
})
