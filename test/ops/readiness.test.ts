// Readiness under pressure and at shutdown, host in this process: a stalled
// event loop (or a heap past its limit) turns /ready 503 with Retry-After and
// the reason, and refuses new upgrades the same way, while a connection
// already open keeps being served; when the stall ends, /ready is 200 again
// and upgrades are accepted. Pressure is sampled once a second; the tests
// wait on the transition log lines it writes, not on time.
import t from 'tap'
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { segmentName } from '../../src/journal/layout.js'
import { busyWire } from '../helpers/busy.js'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity, tryUpgrade } from '../helpers/wire.js'

/**
 * Keeps this process's event loop busy in `chunkMs` blocks, yielding between
 * them (setImmediate, after I/O), so the mean loop delay is about `chunkMs`
 * while sockets are still served, slowly, until stop() is called.
 */
function stallEventLoop(chunkMs: number): { stop(): void } {
  let running = true
  const spin = (): void => {
    if (!running) return
    const end = performance.now() + chunkMs
    while (performance.now() < end) {
      // busy on purpose
    }
    setImmediate(spin)
  }
  setImmediate(spin)
  return {
    stop() {
      running = false
    },
  }
}

async function ready(url: string): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const res = await fetch(`${url}/ready`)
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() }
}

t.test('a stalled event loop: /ready 503 and upgrades refused, open connections served; then back', async (t) => {
  const host = await startHost(t, {}, { env: { READY_MAX_EVENT_LOOP_DELAY_MS: '40' } })
  const open = await Wire.open(host.wsUrl, host.hostPublicKey)
  await open.init({ sessionId: 'under-pressure', identity: generateIdentity() })
  t.equal((await ready(host.url)).status, 200, 'ready before the stall')

  const stall = stallEventLoop(150)
  t.teardown(() => stall.stop())
  const started = await host.log.waitFor('host.under_pressure', { reason: 'event_loop_delay' }, 20_000)
  t.equal(started.level, 'warn')
  t.ok((started.value as number) > 40, `the mean delay is logged (${String(started.value)} ms)`)
  t.equal(started.limit, 40, 'with its limit')

  const probe = await ready(host.url)
  t.equal(probe.status, 503, '/ready answers 503')
  t.same(probe.body, { status: 'not_ready', reason: 'event_loop_delay' }, 'saying why')
  t.ok(Number(probe.retryAfter) > 0, `with a Retry-After (${String(probe.retryAfter)})`)
  const refused = await tryUpgrade(host.wsUrl)
  t.equal(refused.status, 503, 'a new upgrade is refused')
  t.same(refused.body, { error: 'not_ready', reason: 'event_loop_delay' })
  t.ok(Number(refused.headers['retry-after']) > 0, 'with a Retry-After')
  const ping = await open.request('ping')
  t.equal(ping.ok, true, 'the connection already open still gets its reply')
  t.equal(host.log.events('host.under_pressure').length, 1, 'one transition line, not one per refusal')

  stall.stop()
  const relieved = await host.log.waitFor('host.pressure_relieved', {}, 20_000)
  t.equal(relieved.level, 'info')
  t.equal(relieved.reason, 'event_loop_delay')
  t.type(relieved.ms, 'number')
  t.equal((await ready(host.url)).status, 200, '/ready is 200 again')
  t.equal((await tryUpgrade(host.wsUrl)).status, 101, 'upgrades are accepted again')
  t.equal((await open.request('ping')).ok, true)
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_upgrades_refused_total\{reason="event_loop_delay"\} 1/, 'the refusal is counted by reason')
  await open.close()
})

t.test('heap past READY_MAX_HEAP_USED_BYTES: /ready 503 heap, upgrades refused', async (t) => {
  // One byte: every sample is over it, from the first (a second after start).
  const host = await startHost(t, {}, { env: { READY_MAX_HEAP_USED_BYTES: '1', READY_MAX_EVENT_LOOP_DELAY_MS: '0' } })
  const line = await host.log.waitFor('host.under_pressure', { reason: 'heap' }, 20_000)
  t.equal(line.limit, 1)
  t.ok((line.value as number) > 1, 'the heap in use is logged')
  const probe = await ready(host.url)
  t.equal(probe.status, 503)
  t.same(probe.body, { status: 'not_ready', reason: 'heap' })
  t.ok(Number(probe.retryAfter) > 0)
  const refused = await tryUpgrade(host.wsUrl)
  t.equal(refused.status, 503)
  t.same(refused.body, { error: 'not_ready', reason: 'heap' })
})

t.test('journal unwritable: /ready 503 journal_unwritable, Retry-After from JOURNAL_RETRY_MS', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-ready-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const host = await startHost(t, {}, { dataDir, env: { JOURNAL_RETRY_MS: '1500' } })
  // Nothing written yet: the first segment is the full disk (ENOSPC), as in test/journal/write-failure.test.ts.
  symlinkSync('/dev/full', join(dataDir, 'journal', segmentName(1)))
  const open = await Wire.open(host.wsUrl, host.hostPublicKey)
  // The init's write fails: that is what finds the full disk.
  t.match((await open.init({ sessionId: 'refused', identity: generateIdentity() })).ack.error, { code: 'internal', retryable: true })
  await host.log.waitFor('journal.failed')
  const probe = await ready(host.url)
  t.equal(probe.status, 503)
  t.equal(probe.retryAfter, '2', 'JOURNAL_RETRY_MS rounded up to seconds')
  t.same(probe.body, { status: 'not_ready', reason: 'journal_unwritable' })
  const refused = await tryUpgrade(host.wsUrl)
  t.equal(refused.status, 503)
  t.same(refused.body, { error: 'not_ready', reason: 'journal_unwritable' })
  unlinkSync(join(dataDir, 'journal', segmentName(1)))
  await host.log.waitFor('journal.writable')
  t.equal((await ready(host.url)).status, 200)
  await open.close()
})

t.test('shutting down: /ready 503 shutting_down with Retry-After', async (t) => {
  const host = await startHost(t)
  // A connection with frames still to answer holds the host in its drain: shutting down, still listening.
  const busy = await busyWire(host, { searches: 5 })
  const closing = host.server.close()
  const probe = await ready(host.url)
  t.equal(probe.status, 503)
  t.equal(probe.retryAfter, '1')
  t.same(probe.body, { status: 'not_ready', reason: 'shutting_down' })
  for (const id of busy.queued) t.equal(busy.wire.open(await busy.wire.reply(id)).ok, true, 'frames received before the shutdown are answered')
  await closing
})
