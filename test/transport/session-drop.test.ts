// A dropped session's keys are wiped at the moment it is dropped, right after
// its bound connections' evicted notices are sealed (PROTOCOL.md §4.9): nothing can be
// opened or sealed under them afterwards, whatever was in flight.
import t from 'tap'
import { buildSessionInit } from '@rag-session-host/client'
import { startHost } from '../helpers/host.js'
import { occupyFrameWorker, requestsCounted } from '../helpers/host-state.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const EVICTED = { type: 'session_status', status: 'evicted', reason: 'reclaimed' }

t.test('the key is wiped as its session is dropped, before the evicted notice reaches the client', async (t) => {
  const host = await startHost(t, { maxSessions: 1 }) // an ended session is reclaimed by the next new one
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'old', identity: generateIdentity() })
  await a.request('endSession')
  const [conn] = [...host.server.ctx.connections.values()]
  const entry = host.server.ctx.keys.entryOf(conn!.id)!
  t.equal(entry.sessionId, 'old')

  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  t.equal((await b.init({ sessionId: 'new', identity: generateIdentity() })).ack.ok, true)
  t.same(a.open(await a.waitFor((f) => f.id === null)), EVICTED)
  t.ok(
    entry.key.every((byte) => byte === 0),
    'the key bytes were zeroed by then',
  )
  t.equal(host.server.ctx.keys.entryOf(conn!.id), undefined, 'and the connection holds no key')
  const probe = a.seal('ping')
  a.send(probe)
  t.equal((await a.reply(probe.id)).error.code, 'no_session')
})

t.test('a reply being sealed when its session is dropped: the evicted notice, then one plaintext no_session', async (t) => {
  const host = await startHost(t, { maxSessions: 1 })
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'doomed', identity: generateIdentity() })
  const big = 'é'.repeat(30_000) // two of these make a reply the worker seals
  for (let i = 0; i < 2; i++) await a.request('appendMessage', { role: 'user', content: big + i })
  await a.request('endSession') // reads go on; the session may now be reclaimed

  const arrived: (string | null)[] = []
  a.ws.on('message', (data) => arrived.push((JSON.parse(data.toString()) as { id: string | null }).id))
  // The reply's seal waits on the worker while the session is dropped.
  const busy = occupyFrameWorker(host, 8 * 1024 * 1024)
  const history = a.seal('getHistory')
  a.send(history)
  await waitUntil(async () => (await requestsCounted(host, 'getHistory')) === 1, { what: 'getHistory carried out, its reply waiting on the worker' })
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const init = buildSessionInit({ sessionId: 'newcomer', requestId: 'nc', hostPublicKey: host.hostPublicKey, identity: generateIdentity() })
  b.send(init.frame)
  t.equal((await b.reply('nc')).ok, true, 'the newcomer reclaimed the ended session')

  const reply = await a.reply(history.id)
  t.equal(await busy, 'done', 'the worker finished its work')
  t.equal(reply.type, 'error', 'answered in plaintext: the key is gone')
  t.equal(reply.error.code, 'no_session')
  t.same(a.open(await a.waitFor((f) => f.id === null)), EVICTED)
  t.same(arrived, [null, history.id], 'the evicted notice came first')
  const probe = a.seal('ping')
  a.send(probe)
  t.equal((await a.reply(probe.id)).error.code, 'no_session')
  t.equal(a.frames.length, 0, 'no second reply')
})
