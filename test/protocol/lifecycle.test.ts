// Connections and the session lifecycle over real sockets: keys die with their
// socket, sessions detach, are abandoned, dropped, and evicted; dead sockets
// are closed by the heartbeat.
import t from 'tap'
import type WebSocket from 'ws'
import { buildSessionInit } from '@rag-session-host/client'
import { busyWire } from '../helpers/busy.js'
import { startHost } from '../helpers/host.js'
import { waitUntil, within } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

/** Resolves once `ws` has received `n` more pings. */
function pings(ws: WebSocket, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0
    const onPing = (): void => {
      if (++seen < n) return
      ws.off('ping', onPing)
      resolve()
    }
    ws.on('ping', onPing)
  })
}

t.test('a closed socket forgets its key; the session detaches and resumes', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'life', identity })
  await a.request('appendMessage', { role: 'user', content: 'kept' })
  t.equal(host.server.ctx.keys.size, 1)
  await a.close()
  await host.log.waitFor('connection.closed')
  t.equal(host.server.ctx.keys.size, 0, 'the key went with the socket')
  const session = host.server.ctx.sessions.get('life')!
  t.equal(session.status, 'detached')
  t.equal(session.connections.size, 0)

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
  await host.log.waitFor('session.abandoned', (l) => l.session_id === 'gone')
  t.equal(session.status, 'abandoned')
  t.equal(session.autoRecovered, true)

  // An init resumes an abandoned session with its data.
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { info } = await b.init({ sessionId: 'gone', identity })
  t.equal(info?.status, 'active')
  t.equal(info?.history_total, 1)
  t.equal((await b.request('sessionInfo')).auto_recovered, true)
  await b.close()
  await host.log.waitFor('session.dropped', (l) => l.session_id === 'gone' && l.reason === 'retention')
  t.equal(host.server.ctx.sessions.get('gone'), undefined, 'dropped after retention')
})

t.test('an ended session still bound is evicted after retention, with a notice', async (t) => {
  const host = await startHost(t, { retentionMs: 200, sweepIntervalMs: 20 })
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'ev', identity: generateIdentity() })
  await w.request('endSession')
  const notice = w.open(await w.waitFor((f) => f.id === null, 5000))
  t.same(notice, { type: 'session_status', status: 'evicted', reason: 'retention' })
  const probe = w.seal('ping')
  w.send(probe)
  t.equal((await w.reply(probe.id)).error.code, 'no_session')
  t.equal(host.server.ctx.keys.size, 0, 'the key went with the session')
})

t.test('the heartbeat closes a socket that stops answering pings', async (t) => {
  const host = await startHost(t, { heartbeatIntervalMs: 50 })
  const silent = await Wire.open(host.wsUrl, host.hostPublicKey, { autoPong: false })
  const polite = await Wire.open(host.wsUrl, host.hostPublicKey)
  await silent.init({ sessionId: 'hb', identity: generateIdentity() })
  const closed = await silent.closed
  t.equal(closed.code, 1006, 'terminated without a close handshake')
  await host.log.waitFor('connection.closed')
  t.equal(host.server.ctx.sessions.get('hb')?.status, 'detached')
  t.equal(host.log.events('connection.stale').length, 1)
  // A socket that missed one pong is closed at the next ping: three more rounds are plenty.
  await within(pings(polite.ws, 3), 5000, 'three more pings to the socket that answers them')
  t.equal(polite.ws.readyState, polite.ws.OPEN, 'a socket that answers pings stays open')
  t.equal(host.log.events('connection.stale').length, 1, 'and is never called stale')
})

t.test('shutdown tells bound clients and closes with 1001', async (t) => {
  const host = await startHost(t)
  // Slow searches ahead of it keep the append queued (received, not yet answered) when the shutdown starts.
  const { wire: w, queued } = await busyWire(host, { sessionId: 'bye', searches: 5, then: (w) => [w.seal('appendMessage', { role: 'user', content: 'just before shutdown' })] })
  const last = queued.pop()!
  const closing = host.server.close()
  for (const id of queued) t.equal(w.open(await w.reply(id)).ok, true)
  const answered = w.open(await w.reply(last))
  t.equal(answered.ok, true, 'a request received before shutdown is still answered')
  t.equal(answered.seq, 1)
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
  await waitUntil(async () => (await a.request('searchVectors', { vector: vectors[0]!.vector })).exact === false, { what: 'the HNSW index to serve searches' })
  await a.request('endSession')

  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const search = a.seal('searchVectors', { vector: vectors[1]!.vector, k: 3 })
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
  // Frames on a connection are served in order: once a later one is answered, the search is done with.
  a.send({ type: 'mystery', id: 'after' })
  t.equal((await a.reply('after')).error.code, 'bad_request')
  t.equal(a.frames.filter((f) => f.id === search.id).length, 0, 'no second reply')
})
