// Shutdown gives frames already received up to half of SHUTDOWN_GRACE_MS (at
// most 3 s) to be answered. A frame still in hand when that deadline passes
// does not hold the host: its clients hear shutting_down and are closed with
// 1001, within the grace.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { connectionIdOf, occupyFrameWorker, requestsCounted } from '../helpers/host-state.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

t.test('a frame still being handled at the drain deadline: the host closes in time, with 1001', async (t) => {
  const graceMs = 600 // drain deadline 300 ms
  const host = await startHost(t, { shutdownGraceMs: graceMs })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'late', identity: generateIdentity() })
  const big = 'é'.repeat(30_000) // two of these make a reply the worker seals
  for (let i = 0; i < 2; i++) await wire.request('appendMessage', { role: 'user', content: big + i })

  // The reply's seal waits behind long jobs queued on its own connection's lane, far past the deadline;
  // short ones (~0.1 s each), since the one under way when the host stops must finish first.
  const busy = occupyFrameWorker(host, 4 * 1024 * 1024, { jobs: 12, lane: connectionIdOf(host) })
  const history = wire.seal('getHistory')
  wire.send(history)
  await waitUntil(async () => (await requestsCounted(host, 'getHistory')) === 1, { what: 'getHistory carried out, its reply waiting on the worker' })

  const started = Date.now()
  const closing = host.server.close()
  const notice = wire.open(await wire.waitFor((f) => f.id === null))
  t.same(notice, { type: 'session_status', status: 'shutting_down', reason: 'host is shutting down' })
  const closed = await wire.closed
  const closedMs = Date.now() - started
  t.equal(closed.code, 1001)
  t.ok(closedMs < graceMs, `the client was closed within the grace (${closedMs} ms)`)
  await closing
  const stoppedMs = Date.now() - started
  t.ok(stoppedMs < graceMs, `the host stopped within the grace (${stoppedMs} ms)`)

  t.equal(wire.frames.filter((f) => f.id === history.id).length, 0, 'the frame in hand at the deadline was not answered')
  const expired = host.log.events('connection.drain_expired')
  t.equal(expired.length, 1, 'the drain deadline passed with a frame in hand')
  t.equal(expired[0]?.level, 'warn')
  t.equal(host.log.events('reply.fault').length, 0, 'a reply nobody can receive any more is no fault')
  t.type(await busy, Error, 'the worker was stopped with the host, mid-job')
})
