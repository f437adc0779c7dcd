// Restarts of a real host on the same DATA_DIR and key: what it acknowledged
// comes back, from the journal alone (a copy of the files taken while the host
// runs is what a power cut leaves, since each reply waited for its fsync) and
// from the snapshot a clean stop writes.
import t from 'tap'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { sessionStates, type SessionState } from '../helpers/host-state.js'
import { startHost, type StartOptions, type TestHost } from '../helpers/host.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** A DATA_DIR and host key that outlive one host, removed when the test ends. */
function durableHome(t: Teardown): { dataDir: string; secretKey: Uint8Array; copy(): string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-restart-'))
  const copies: string[] = []
  t.teardown(() => {
    for (const dir of [dataDir, ...copies]) rmSync(dir, { recursive: true, force: true })
  })
  return {
    dataDir,
    secretKey: nacl.box.keyPair().secretKey,
    copy() {
      const to = mkdtempSync(join(tmpdir(), 'rsh-crash-'))
      cpSync(dataDir, to, { recursive: true })
      copies.push(to)
      return to
    },
  }
}

/** What a restart turns each session into: no connection survives it, so an active session comes back detached. */
const afterRestart = (states: SessionState[]): SessionState[] => states.map((s) => ({ ...s, status: s.status === 'active' ? 'detached' : s.status }))

const vec = (...values: number[]): number[] => values

async function fill(host: TestHost): Promise<{ alice: ReturnType<typeof generateIdentity> }> {
  const alice = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'alice', identity: alice })
  for (const content of ['one', 'two', 'three']) await a.request('appendMessage', { role: 'user', content })
  await a.init({ sessionId: 'alice', identity: alice, newAttempt: true })
  await a.request('appendMessage', { role: 'assistant', content: 'second attempt' })
  const up = await a.request('uploadVectors', {
    vectors: [
      { id: 'v1', vector: vec(1, 0, 0), metadata: { lang: 'en', n: 1 } },
      { id: 'v2', vector: vec(0, 1, 0), metadata: { lang: 'fr' } },
      { id: 'v3', vector: vec(0, 0, 1) },
      { id: 'v4', vector: vec(1, 1, 0), metadata: { tags: ['a', 'b'], nested: { x: null } } },
    ],
  })
  t.equal(up.ok, true)
  t.equal((await a.request('deleteVectors', { ids: ['v2'] })).deleted, 1)
  await a.request('uploadVectors', { vectors: [{ id: 'v1', vector: vec(0.5, 0.5, 0.5), metadata: { lang: 'de' } }] }) // an upsert

  // bob: cleared, then vectors of another dimension; then ended.
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  await b.init({ sessionId: 'bob', identity: generateIdentity() })
  await b.request('uploadVectors', { vectors: [{ id: 'x', vector: vec(1, 2) }] })
  await b.request('clearVectors')
  await b.request('uploadVectors', { vectors: [{ id: 'y', vector: vec(1, 2, 3, 4) }] })
  await b.request('appendMessage', { role: 'system', content: 'bye' })
  t.equal((await b.request('endSession')).status, 'ended')

  // carol: replace, and a connection that stays detached.
  const c = await Wire.open(host.wsUrl, host.hostPublicKey)
  await c.init({ sessionId: 'carol', identity: generateIdentity() })
  await c.request('uploadVectors', { vectors: [{ id: 'old', vector: vec(1, 1) }] })
  await c.request('uploadVectors', { vectors: [{ id: 'new', vector: vec(2, 1) }], replace: true })
  await c.close()
  await waitUntil(() => host.server.ctx.sessions.get('carol')?.status === 'detached', { what: 'carol detached' })
  // dave: created by an init and nothing else.
  const d = await Wire.open(host.wsUrl, host.hostPublicKey)
  await d.init({ sessionId: 'dave', identity: generateIdentity() })
  await Promise.all([a.close(), b.close(), d.close()])
  return { alice }
}

/** fsyncs the journal has done (rsh_journal_fsync_seconds). */
async function fsyncCount(host: TestHost): Promise<number> {
  const metric = await host.server.ctx.metrics.registry.getSingleMetric('rsh_journal_fsync_seconds')!.get()
  return metric.values.find((v) => (v as { metricName?: string }).metricName === 'rsh_journal_fsync_seconds_count')!.value
}

/** One change acknowledged after everything the host journaled before it. */
async function acknowledgedChange(host: TestHost): Promise<void> {
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: `marker-${Math.random().toString(36).slice(2)}`, identity: generateIdentity() })
  await w.close()
}

t.test('every acknowledged change survives a crash (journal only) and a clean stop (snapshot)', async (t) => {
  const home = durableHome(t)
  const opts: StartOptions = { dataDir: home.dataDir, secretKey: home.secretKey }
  const first = await startHost(t, {}, opts)
  const { alice } = await fill(first)
  const before = sessionStates(first)
  t.equal(before.length, 4)
  t.ok((await fsyncCount(first)) >= 10, 'always: an fsync per batch (each request here waited for its own)')
  t.same(Object.keys(before.find((s) => s.id === 'alice')!.vectors).sort(), ['v1', 'v3', 'v4'])
  const crashImage = home.copy() // what a power cut now would leave
  t.equal(first.log.events('journal.snapshot').length, 0, 'no snapshot yet: the copy holds journal segments only')
  await first.close()
  t.equal(first.log.events('journal.snapshot').length, 1, 'a clean stop writes a snapshot')

  const crashed = await startHost(t, {}, { dataDir: crashImage, secretKey: home.secretKey })
  t.same(sessionStates(crashed), afterRestart(before), 'the journal alone gives back every session as it was')
  const fromJournal = crashed.log.events('journal.recovered')[0]!
  t.match(fromJournal, { sessions: 4, messages: 5, vectors: 5, snapshot: null, damaged: false })
  await crashed.close()

  const restarted = await startHost(t, {}, opts)
  t.same(sessionStates(restarted), afterRestart(before), 'the snapshot gives back the same')
  t.match(restarted.log.events('journal.recovered')[0], { sessions: 4, messages: 5, vectors: 5, snapshot: Number, damaged: false })

  // And the host goes on from there: search finds the upserted vector, the owner is still the owner.
  const a = await Wire.open(restarted.wsUrl, restarted.hostPublicKey)
  const { info } = await a.init({ sessionId: 'alice', identity: alice })
  t.match(info, { created: false, attempt: 2, status: 'active', vectors: 3, history: 1, history_total: 4 })
  const hits = await a.request('searchVectors', { vector: vec(1, 1, 1), k: 1 })
  t.match(hits.results, [{ id: 'v1', metadata: { lang: 'de' } }])
  t.equal((await a.request('appendMessage', { role: 'user', content: 'after' })).seq, 5, 'seq goes on')
  const thief = await Wire.open(restarted.wsUrl, restarted.hostPublicKey)
  t.equal((await thief.init({ sessionId: 'alice', identity: generateIdentity() })).ack.error.code, 'forbidden', 'the owner survived the restart')
  const e = await Wire.open(restarted.wsUrl, restarted.hostPublicKey)
  const created = await e.init({ sessionId: 'erin', identity: generateIdentity() })
  t.equal(created.info?.created, true)
  t.ok(restarted.server.ctx.sessions.get('erin')!.seq > 4, 'a new session gets a seq none had before the restart')
  const ended = await Wire.open(restarted.wsUrl, restarted.hostPublicKey)
  const bob = before.find((s) => s.id === 'bob')!
  t.equal(bob.status, 'ended')
  await Promise.all([a.close(), thief.close(), e.close(), ended.close()])
})

t.test('lifecycle decisions of the host survive: abandoned with auto_recovered, dropped by retention', async (t) => {
  const home = durableHome(t)
  const config = { reconnectGraceMs: 50, retentionMs: 60_000, sweepIntervalMs: 10 }
  const on = (dataDir: string, overrides = {}): Promise<TestHost> => startHost(t, { ...config, ...overrides }, { dataDir, secretKey: home.secretKey })
  const first = await on(home.dataDir)
  const identity = generateIdentity()
  const w = await Wire.open(first.wsUrl, first.hostPublicKey)
  await w.init({ sessionId: 'left', identity })
  await w.request('appendMessage', { role: 'user', content: 'x' })
  await w.close()
  await first.log.waitFor('session.abandoned', { session_id: 'left' })
  // The host journals its own decisions with the next batch, unawaited: a later acknowledged change is behind it on disk.
  await acknowledgedChange(first)
  const abandonedImage = home.copy()
  await first.close()

  for (const [dir, from] of [
    [abandonedImage, 'journal'],
    [home.dataDir, 'snapshot'],
  ] as const) {
    const host = await on(dir)
    const left = host.server.ctx.sessions.get('left')!
    t.equal(left.status, 'abandoned', `still abandoned after the restart (${from})`)
    t.equal(left.autoRecovered, true)
    await host.close()
  }
  const resumed = await on(abandonedImage)
  const r = await Wire.open(resumed.wsUrl, resumed.hostPublicKey)
  const { info } = await r.init({ sessionId: 'left', identity })
  t.match(info, { status: 'active', history_total: 1 })
  t.equal((await r.request('sessionInfo')).auto_recovered, true, 'a resumed session remembers it was abandoned')
  await r.close()
  await resumed.close()

  // Retention drops it; no restart may bring it back.
  const third = await on(home.dataDir, { retentionMs: 100 })
  await third.log.waitFor('session.dropped', { session_id: 'left', reason: 'retention' })
  await acknowledgedChange(third)
  const droppedImage = home.copy()
  await third.close()
  for (const [dir, from] of [
    [droppedImage, 'journal'],
    [home.dataDir, 'snapshot'],
  ] as const) {
    const host = await on(dir)
    t.equal(host.server.ctx.sessions.get('left'), undefined, `a dropped session stays dropped (${from})`)
    await host.close()
  }
})

t.test('PERSIST=false keeps nothing and writes nothing', async (t) => {
  const home = durableHome(t)
  const opts: StartOptions = { dataDir: home.dataDir, secretKey: home.secretKey, env: { PERSIST: 'false' } }
  const first = await startHost(t, {}, opts)
  t.equal(first.config.persist, false)
  await fill(first)
  t.equal(sessionStates(first).length, 4)
  await first.close()
  t.same(readdirSync(home.dataDir), [], 'no journal directory')
  const second = await startHost(t, {}, opts)
  t.same(sessionStates(second), [], 'a restart starts empty, as documented')
  t.equal(second.log.events('journal.recovered').length, 0)
})

for (const mode of ['interval', 'off'] as const) {
  t.test(`JOURNAL_FSYNC=${mode}: replies do not wait for fsync, and a clean stop keeps everything`, async (t) => {
    const home = durableHome(t)
    const opts: StartOptions = { dataDir: home.dataDir, secretKey: home.secretKey, env: { JOURNAL_FSYNC: mode, JOURNAL_FSYNC_MS: '20' } }
    const first = await startHost(t, {}, opts)
    await fill(first)
    const before = sessionStates(first)
    // Bytes reach the file before each reply in every mode: a crash of the process (not of the machine) loses nothing.
    const image = home.copy()
    if (mode === 'off') t.equal(await fsyncCount(first), 0, 'off never fsyncs')
    await first.close()
    const crashed = await startHost(t, {}, { ...opts, dataDir: image })
    t.same(sessionStates(crashed), afterRestart(before))
    await crashed.close()
    const restarted = await startHost(t, {}, opts)
    t.same(sessionStates(restarted), afterRestart(before))
  })
}

t.test('HNSW indexes are rebuilt in the background after a restart; searches are answered exactly meanwhile', async (t) => {
  const home = durableHome(t)
  const opts: StartOptions = { dataDir: home.dataDir, secretKey: home.secretKey }
  const config = { exactSearchMaxVectors: 50 }
  const first = await startHost(t, config, opts)
  const identity = generateIdentity()
  const w = await Wire.open(first.wsUrl, first.hostPublicKey)
  await w.init({ sessionId: 'big', identity })
  const vectors = Array.from({ length: 300 }, (_, i) => ({ id: `d${i}`, vector: Array.from({ length: 8 }, (_, j) => Math.sin(i * 7 + j)) }))
  t.equal((await w.request('uploadVectors', { vectors })).total, 300)
  await w.close()
  await first.close()

  const second = await startHost(t, config, opts)
  const session = second.server.ctx.sessions.get('big')!
  t.equal(session.vectors.count, 300)
  const r = await Wire.open(second.wsUrl, second.hostPublicKey)
  await r.init({ sessionId: 'big', identity })
  const early = await r.request('searchVectors', { vector: vectors[42]!.vector, k: 1 })
  t.match(early.results, [{ id: 'd42' }], 'answered at once, before any graph is ready')
  if (session.vectors.indexState !== 'ready') t.equal(early.exact, true, 'exactly, while the graph builds')
  await waitUntil(() => session.vectors.indexState === 'ready', { what: 'the HNSW graph rebuilt after the restart', timeoutMs: 30_000 })
  const late = await r.request('searchVectors', { vector: vectors[42]!.vector, k: 1 })
  t.match(late, { exact: false, results: [{ id: 'd42' }] }, 'from the rebuilt graph')
  await r.close()
})

t.test('snapshots come by size and by age; the segments they cover are deleted; metrics report the journal', async (t) => {
  const home = durableHome(t)
  const host = await startHost(t, { journalSnapshotBytes: 4096, journalSnapshotMs: 60_000 }, { dataDir: home.dataDir, secretKey: home.secretKey })
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 's', identity: generateIdentity() })
  // Appends until the size check (once a second) snapshots: not before 4096 bytes, and long before JOURNAL_SNAPSHOT_MS.
  const t0 = Date.now()
  let sent = 0
  while (host.log.events('journal.snapshot').length === 0 && sent < 20_000) {
    await w.request('appendMessage', { role: 'user', content: `m${sent++} ${'x'.repeat(200)}` })
  }
  const bySize = await host.log.waitFor('journal.snapshot')
  t.ok(sent * 200 >= 4096, `no snapshot before the journal passed 4096 bytes (it came after ${sent} appends)`)
  t.ok(Date.now() - t0 < 60_000, 'by size, not by age')
  t.match(bySize, { sessions: 1, bytes: Number, ms: Number })
  const files = readdirSync(join(home.dataDir, 'journal')).sort()
  const snap = Number(bySize.snapshot)
  t.same(
    files.filter((f) => f.endsWith('.log')).map((f) => Number(/\d+/.exec(f)![0])),
    [snap],
    'only the segment after the snapshot is left',
  )
  t.same(
    files.filter((f) => f.endsWith('.snap')),
    [`snapshot-${String(snap).padStart(8, '0')}.snap`],
    'and only the latest snapshot',
  )
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /^rsh_journal_segments 1$/m)
  t.match(metrics, /^rsh_journal_writable 1$/m)
  t.match(metrics, /^rsh_snapshot_bytes [1-9]\d*$/m)
  t.match(metrics, /^rsh_snapshot_duration_seconds_count 1$/m)
  t.match(metrics, /^rsh_journal_fsync_seconds_count [1-9]\d*$/m)
  t.match(metrics, /^rsh_recovery_seconds \d/m)
  await w.close()
  await host.close()

  // By age: one change, and the next check after JOURNAL_SNAPSHOT_MS writes a snapshot.
  const aged = await startHost(t, { journalSnapshotMs: 1000 }, { dataDir: home.dataDir, secretKey: home.secretKey })
  t.equal(aged.log.events('journal.snapshot').length, 0, 'nothing new to snapshot at start')
  const a = await Wire.open(aged.wsUrl, aged.hostPublicKey)
  await a.init({ sessionId: 'later', identity: generateIdentity() })
  await aged.log.waitFor('journal.snapshot')
  t.ok(aged.log.events('journal.recovered')[0]!.snapshot !== null)
  await a.close()
})
