// Durability benchmark: what the write-ahead journal (src/journal/) costs and
// how long a restart takes. The host runs in its own process
// (bench/host/spawn.ts); SDK clients run on worker threads of this process
// (bench/lib/durability-worker.ts).
//
//   npm run bench:durability             # full run (~15 min on 2 cores)
//   npm run bench:durability -- --quick  # small sizes, one round (~2 min)
//
// Flags: --quick  --runs=3  --seconds=5  --warm-s=1  --upload-seconds=10
//        --upload-warm-s=3  --clients=50  --threads=2
//        --batch=250  --dims=384  --vectors=100000  --sessions=10000
//        --messages=100  --parts=throughput,recovery,snapshot
//        --host-env=NAME=value,NAME=value (extra host configuration, for experiments)
//
// 1. throughput: --clients SDK clients, each in its own session, closed loop
//    (one request in flight each), spread over --threads worker threads;
//    (a) appendMessage, (b) uploadVectors of --batch × --dims vectors
//    (vector_b64, fresh ids each request). Four host configurations:
//    PERSIST=false, and PERSIST=true with JOURNAL_FSYNC=off, interval, always.
//    Each cell is a fresh host; the configurations are interleaved (every
//    round runs all four, in a rotated order) and the round is repeated --runs
//    times. Per cell: a warm-up (uploads queue ~1.5 s deep at 50 in flight,
//    so they get a longer one and a longer window), then the measured window: replies/s,
//    reply round trip p50/p99 (client side), the host's event-loop delay p99,
//    its CPU (all threads) and main-thread utilization, fsyncs. Ratios to
//    PERSIST=false are taken within a round (paired), then the median.
//    Snapshots and HNSW builds are kept out of the window (JOURNAL_SNAPSHOT_BYTES
//    and EXACT_SEARCH_MAX_VECTORS out of reach): part 3 measures the snapshot.
// 2. recovery: the journal of (a) one session of --vectors × --dims vectors
//    and (b) --sessions sessions × --messages messages, filled over the SDK
//    (large upload batches, rate limits off), the filling host then killed
//    (SIGKILL). A copy of the directory is snapshotted. Then, interleaved, --runs
//    times each: the real entry point (src/main.ts under tsx) started on the
//    segments-only copy, on the snapshot copy, and on an empty directory; time
//    from spawn() to its `host.started` line, and `journal.recovered`'s ms.
//    Each start is killed after host.started, so it leaves the files as they were.
// 3. snapshot: on a host holding (a)'s vectors (recovered), --runs snapshots
//    triggered over IPC (FileJournal.snapshot()), the host's event-loop delay
//    during each, its duration and bytes, and a client's ping round trips
//    (one every 10 ms) meanwhile; and one snapshot of (b).
// Prints the machine, every cell, and markdown tables of the medians.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Worker } from 'node:worker_threads'
import { SessionClient } from '@rag-session-host/client'
import { startWorker } from '../src/util/worker-file.js'
import { startHostProcess, startMainProcess, type HostProcess, type HostStats, type MainStart, type SnapshotStats } from './host/spawn.js'
import { median, summarize } from './lib/stats.js'
import { nextReply } from './lib/worker-reply.js'
import { flagValue } from './lib/cli.js'

type Op = 'append' | 'upload'
const QUICK = process.argv.includes('--quick')
const flag = (name: string, full: string, quick = full): string => flagValue(name, QUICK ? quick : full)
const RUNS = Number(flag('runs', '3', '1'))
const SECONDS: Record<Op, number> = { append: Number(flag('seconds', '5', '2')), upload: Number(flag('upload-seconds', '10', '4')) }
const WARM_S: Record<Op, number> = { append: Number(flag('warm-s', '1', '0.5')), upload: Number(flag('upload-warm-s', '3', '2')) }
const CLIENTS = Number(flag('clients', '50'))
const THREADS = Number(flag('threads', '2'))
const BATCH = Number(flag('batch', '250'))
const DIMS = Number(flag('dims', '384'))
const VECTORS = Number(flag('vectors', '100000', '20000'))
const SESSIONS = Number(flag('sessions', '10000', '1000'))
const MESSAGES = Number(flag('messages', '100', '20'))
const PARTS = new Set(flag('parts', 'throughput,recovery,snapshot').split(','))
const HOST_ENV: Record<string, string> = Object.fromEntries(
  flag('host-env', '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
)

const AIM_RATIO = 0.5
const AIM_RECOVERY_S = 5
const AIM_SNAPSHOT_LOOP_MS = 20
const FILL_BATCH = 5000
const NEVER = { JOURNAL_SNAPSHOT_BYTES: String(2 ** 40), JOURNAL_SNAPSHOT_MS: String(30 * 86_400_000) }

const OPS: Op[] = ['append', 'upload']
const OP_NAME: Record<Op, string> = { append: 'appendMessage', upload: `uploadVectors ${BATCH}×${DIMS}` }
const CONFIGS = [
  { name: 'PERSIST=false', env: { PERSIST: 'false' } },
  { name: 'fsync off', env: { PERSIST: 'true', JOURNAL_FSYNC: 'off' } },
  { name: 'fsync interval', env: { PERSIST: 'true', JOURNAL_FSYNC: 'interval' } },
  { name: 'fsync always', env: { PERSIST: 'true', JOURNAL_FSYNC: 'always' } },
] as const
type ConfigName = (typeof CONFIGS)[number]['name']

// ---------------------------------------------------------------- helpers

const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a')
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)
const yes = (ok: boolean): string => (ok ? 'met' : '**missed**')
const range = (xs: number[], fmt: (x: number) => string): string => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`
const log = (line: string): void => void process.stderr.write(`${line}\n`)
const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')

/** A worker thread of SDK clients (bench/lib/durability-worker.ts). */
function clientThread() {
  const worker: Worker = startWorker(import.meta.url, 'lib/durability-worker')
  worker.ref()
  const call = <T>(msg: Record<string, unknown>, type: string): Promise<T> => {
    const reply = nextReply<T>(worker, type, 'client thread')
    worker.postMessage(msg)
    return reply
  }
  return { call, terminate: () => worker.terminate() }
}
type ClientThread = ReturnType<typeof clientThread>

/** `n` items split as evenly as possible over `parts`. */
const split = (n: number, parts: number): number[] => Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0))

// ---------------------------------------------------------------- 1. throughput

interface Cell {
  op: Op
  config: ConfigName
  run: number
  opsPerSec: number
  errors: number
  p50Ms: number
  p99Ms: number
  loop: HostStats['eventLoop']
  hostCpuPct: number
  /** Host CPU time (all threads) per request it answered in the window: robust to CPU taken by other processes. */
  hostCpuUsPerReply: number
  hostElu: number
  clientElu: number
  fsyncs: number
  fsyncMeanMs: number
  /** Journal commit, call to durable (the wait before a change is applied), ms. */
  commitP50: number
  commitP99: number
  recordsPerCommit: number
  majorGcs: number
  journalMB: number
}

const THROUGHPUT_ENV = { BENCH_TRACE_COMMIT: '1', EXACT_SEARCH_MAX_VECTORS: String(2 ** 40), MAX_SESSIONS: String(Math.max(1000, CLIENTS * 2)), ...NEVER }

async function cell(op: Op, config: (typeof CONFIGS)[number], run: number): Promise<Cell> {
  const host = await startHostProcess({ ...THROUGHPUT_ENV, ...config.env, ...HOST_ENV })
  const threads: ClientThread[] = []
  try {
    const per = split(CLIENTS, THREADS).filter((n) => n > 0)
    for (let t = 0; t < per.length; t++) threads.push(clientThread())
    await Promise.all(threads.map((th, t) => th.call({ cmd: 'connect', url: host.url, publicKey: host.publicKey, clients: per[t], prefix: `t${t}-` }, 'ready')))
    const warmMs = WARM_S[op] * 1000
    const ms = SECONDS[op] * 1000
    const done = Promise.all(
      threads.map((th) => th.call<{ ops: number; errors: number; latUs: Float64Array; elu: number }>({ cmd: 'run', op, warmMs, ms, batch: BATCH, dims: DIMS }, 'done')),
    )
    await sleep(warmMs)
    await host.reset()
    await sleep(ms)
    const st = await host.stats()
    const results = await done
    await Promise.all(threads.map((th) => th.call({ cmd: 'close' }, 'closed')))
    const lat: number[] = []
    for (const r of results) for (const x of r.latUs) lat.push(x / 1000)
    const s = summarize(lat)
    const ops = results.reduce((a, r) => a + r.ops, 0)
    const w = st.sinceReset
    return {
      op,
      config: config.name,
      run,
      opsPerSec: ops / SECONDS[op],
      errors: results.reduce((a, r) => a + r.errors, 0),
      p50Ms: s.p50,
      p99Ms: s.p99,
      loop: st.eventLoop,
      hostCpuPct: ((w.cpuMs.user + w.cpuMs.system) / w.ms) * 100,
      hostCpuUsPerReply: ((w.cpuMs.user + w.cpuMs.system) * 1000) / Math.max(1, w.requests),
      hostElu: w.elu,
      clientElu: Math.max(...results.map((r) => r.elu)),
      fsyncs: w.fsyncs,
      fsyncMeanMs: w.fsyncs > 0 ? w.fsyncMs / w.fsyncs : Number.NaN,
      commitP50: w.commits?.p50 ?? Number.NaN,
      commitP99: w.commits?.p99 ?? Number.NaN,
      recordsPerCommit: w.commits ? w.commits.records / w.commits.n : Number.NaN,
      majorGcs: w.gc.major,
      journalMB: (st.journal?.bytes ?? 0) / 1e6,
    }
  } finally {
    await Promise.all(threads.map((th) => th.terminate()))
    await host.stop()
  }
}

const cellLine = (c: Cell): string =>
  `${OP_NAME[c.op]} | ${c.config} | run ${c.run} | ${int(c.opsPerSec)}/s | p50 ${f2(c.p50Ms)} p99 ${f2(c.p99Ms)} ms | loop p99 ${f1(c.loop.p99)} max ${f1(c.loop.max)} ms | host CPU ${int(c.hostCpuPct)} % (${int(c.hostCpuUsPerReply)} µs/reply) main ${f2(c.hostElu)} | client thread ${f2(c.clientElu)} | fsyncs ${c.fsyncs} (${f2(c.fsyncMeanMs)} ms) | commit wait p50 ${f2(c.commitP50)} p99 ${f2(c.commitP99)} ms | full GCs ${c.majorGcs} | journal ${f1(c.journalMB)} MB | errors ${c.errors}`

async function throughput(): Promise<Cell[]> {
  const cells: Cell[] = []
  for (let run = 1; run <= RUNS; run++) {
    for (const op of OPS) {
      // Rotated each round, so no configuration always runs first (or right after another).
      const order = CONFIGS.map((_, i) => CONFIGS[(i + run - 1 + OPS.indexOf(op)) % CONFIGS.length]!)
      for (const config of order) {
        const c = await cell(op, config, run)
        cells.push(c)
        log(cellLine(c))
      }
    }
  }
  return cells
}

interface Summary {
  op: Op
  config: ConfigName
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  loopP99: number
  hostCpuPct: number
  hostCpuUsPerReply: number
  hostElu: number
  clientElu: number
  opsPerFsync: number
  fsyncsPerSec: number
  fsyncMeanMs: number
  commitP50: number
  commitP99: number
  /** Median over rounds of this config / PERSIST=false in the same round. */
  ratio: { ops: number; p50: number; p99: number; cpu: number }
  runsOps: number[]
  errors: number
}

function summarizeCells(cells: Cell[]): Summary[] {
  const out: Summary[] = []
  for (const op of OPS)
    for (const { name } of CONFIGS) {
      const mine = cells.filter((c) => c.op === op && c.config === name)
      const base = (run: number): Cell => cells.find((c) => c.op === op && c.config === 'PERSIST=false' && c.run === run)!
      const paired = (f: (c: Cell) => number): number => median(mine.map((c) => f(c) / f(base(c.run))))
      out.push({
        op,
        config: name,
        opsPerSec: median(mine.map((c) => c.opsPerSec)),
        p50Ms: median(mine.map((c) => c.p50Ms)),
        p99Ms: median(mine.map((c) => c.p99Ms)),
        loopP99: median(mine.map((c) => c.loop.p99)),
        hostCpuPct: median(mine.map((c) => c.hostCpuPct)),
        hostCpuUsPerReply: median(mine.map((c) => c.hostCpuUsPerReply)),
        hostElu: median(mine.map((c) => c.hostElu)),
        clientElu: median(mine.map((c) => c.clientElu)),
        opsPerFsync: median(mine.map((c) => (c.fsyncs > 0 ? (c.opsPerSec * SECONDS[op]) / c.fsyncs : Number.NaN))),
        fsyncsPerSec: median(mine.map((c) => c.fsyncs / SECONDS[op])),
        fsyncMeanMs: median(mine.map((c) => c.fsyncMeanMs)),
        commitP50: median(mine.map((c) => c.commitP50)),
        commitP99: median(mine.map((c) => c.commitP99)),
        ratio: { ops: paired((c) => c.opsPerSec), p50: paired((c) => c.p50Ms), p99: paired((c) => c.p99Ms), cpu: paired((c) => c.hostCpuUsPerReply) },
        runsOps: mine.map((c) => c.opsPerSec),
        errors: mine.reduce((a, c) => a + c.errors, 0),
      })
    }
  return out
}

function throughputTable(sums: Summary[]): string[] {
  const lines = [
    '| operation | host configuration | replies/s | vs PERSIST=false | reply p50 / p99 ms | p50 / p99 vs PERSIST=false | host loop delay p99 ms | host CPU % (all threads) / main thread busy | host CPU µs per reply (vs PERSIST=false) | fsyncs/s (replies per fsync; mean fsync ms) | journal commit wait p50 / p99 ms | aim: always ≥ 50 % of PERSIST=false |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for (const s of sums) {
    const base = s.config === 'PERSIST=false'
    lines.push(
      `| ${OP_NAME[s.op]} | ${s.config} | ${int(s.opsPerSec)} (${range(s.runsOps, int)}) | ${base ? '1' : f2(s.ratio.ops)}× | ${f2(s.p50Ms)} / ${f2(s.p99Ms)} | ${base ? '1 / 1' : `${f2(s.ratio.p50)} / ${f2(s.ratio.p99)}`}× | ${f1(s.loopP99)} | ${int(s.hostCpuPct)} / ${int(s.hostElu * 100)} % | ${int(s.hostCpuUsPerReply)} (${base ? '1' : f2(s.ratio.cpu)}×) | ${s.config === 'PERSIST=false' || s.config === 'fsync off' ? '—' : `${f1(s.fsyncsPerSec)} (${Number.isFinite(s.opsPerFsync) ? f1(s.opsPerFsync) : '—'}; ${f2(s.fsyncMeanMs)})`} | ${s.config === 'PERSIST=false' ? '—' : `${f2(s.commitP50)} / ${f2(s.commitP99)}`} | ${s.config === 'fsync always' ? yes(s.ratio.ops >= AIM_RATIO) : ''} |`,
    )
  }
  return lines
}

// ---------------------------------------------------------------- 2. recovery and 3. snapshot

interface Filled {
  name: string
  segDir: string
  snapDir: string
  fillS: number
  segmentMB: number
  expect: { sessions: number; messages: number; vectors: number }
  snapshot: SnapshotStats
  snapshotPings: { p50: number; p99: number }
}

const FILL_ENV = {
  ...NEVER,
  PERSIST: 'true',
  JOURNAL_FSYNC: 'off',
  EXACT_SEARCH_MAX_VECTORS: String(2 ** 40),
  MAX_BATCH: String(FILL_BATCH),
  MAX_FRAME_BYTES: String(64 * 2 ** 20),
  MAX_VECTORS_PER_SESSION: String(Math.max(100_000, VECTORS)),
  MAX_VECTOR_BYTES: String(Math.max(2 ** 30, VECTORS * DIMS * 8)),
  MAX_SESSIONS: String(Math.max(1000, SESSIONS * 2)),
  MAX_HISTORY: String(Math.max(10_000, MESSAGES)),
}
/** The restarts: capacity as the fill had it, the rest defaults (so HNSW rebuilds are scheduled as in production). */
const RESTART_ENV = {
  ...NEVER,
  MAX_VECTORS_PER_SESSION: FILL_ENV.MAX_VECTORS_PER_SESSION,
  MAX_VECTOR_BYTES: FILL_ENV.MAX_VECTOR_BYTES,
  MAX_SESSIONS: FILL_ENV.MAX_SESSIONS,
  MAX_HISTORY: FILL_ENV.MAX_HISTORY,
}

/** Every temporary directory made, deleted at the end. */
const dirs: string[] = []
const tmp = (tag: string): string => {
  const dir = mkdtempSync(join(os.tmpdir(), `rsh-durability-${tag}-`))
  dirs.push(dir)
  return dir
}

/** A client pinging every 10 ms (or when the last answer is back, if later) until stopped. */
function pinger(host: HostProcess) {
  let stopped = false
  const lat: number[] = []
  let client: SessionClient | undefined
  const done = (async () => {
    client = await SessionClient.connect(host.url, { hostPublicKey: host.publicKey, requestTimeoutMs: 120_000 })
    await client.openSession('bench-pinger')
    while (!stopped) {
      const t0 = performance.now()
      await client.ping()
      lat.push(performance.now() - t0)
      const wait = 10 - (performance.now() - t0)
      if (wait > 0) await sleep(wait)
    }
    await client.close()
  })()
  return {
    collect(): number[] {
      lat.length = 0
      return lat
    },
    async stop() {
      stopped = true
      await done
    },
  }
}

/** Fills a journal by `fill`, kills the host, copies the directory and snapshots the copy (`snapshots` times, timing each). */
async function prepare(
  name: string,
  expect: Filled['expect'],
  fill: (host: HostProcess) => Promise<void>,
  snapshots: number,
): Promise<{ filled: Filled; snaps: { stats: SnapshotStats; pings: { p50: number; p99: number; n: number } }[] }> {
  const segDir = tmp('seg')
  const snapDir = tmp('snap')
  let host = await startHostProcess(FILL_ENV, { dataDir: segDir })
  const t0 = performance.now()
  await fill(host)
  const fillS = (performance.now() - t0) / 1000
  const segmentMB = ((await host.stats()).journal?.bytes ?? 0) / 1e6
  await host.kill()
  log(`${name}: filled in ${f1(fillS)} s, ${mb(segmentMB * 1e6)} MB of journal segments`)
  cpSync(segDir, snapDir, { recursive: true })
  host = await startHostProcess(FILL_ENV, { dataDir: snapDir })
  const r = host.recovery!
  if (r.sessions !== expect.sessions || r.messages !== expect.messages || r.vectors !== expect.vectors)
    throw new Error(`${name}: recovered ${JSON.stringify(r)}, expected ${JSON.stringify(expect)}`)
  await sleep(2000) // let the recovery's garbage go before timing the loop
  const p = pinger(host)
  await sleep(500)
  const snaps: { stats: SnapshotStats; pings: { p50: number; p99: number; n: number } }[] = []
  for (let i = 0; i < snapshots; i++) {
    const lat = p.collect()
    const stats = await host.snapshot()
    const s = summarize(lat)
    snaps.push({ stats, pings: { p50: s.p50, p99: s.p99, n: s.n } })
    log(
      `${name}: snapshot ${i + 1}: ${int(stats.wallMs)} ms (journal ${int(stats.ms)} ms), ${mb(stats.bytes)} MB, loop p99 ${f1(stats.eventLoop.p99)} max ${f1(stats.eventLoop.max)} ms, ${stats.gc.major} full GCs (${int(stats.gc.majorMs)} ms, longest ${f1(stats.gc.majorMaxMs)}), pings p50 ${f2(s.p50)} p99 ${f2(s.p99)} ms (${s.n})`,
    )
    await sleep(1000)
  }
  await p.stop()
  await host.kill()
  const mid = [...snaps].sort((a, b) => a.stats.eventLoop.p99 - b.stats.eventLoop.p99)[Math.floor((snaps.length - 1) / 2)]!
  // The snapshot copy also holds the pinger's (empty) session.
  return { filled: { name, segDir, snapDir, fillS, segmentMB, expect, snapshot: mid.stats, snapshotPings: mid.pings }, snaps }
}

async function fillVectors(host: HostProcess): Promise<void> {
  const th = clientThread()
  try {
    await th.call(
      { cmd: 'fill-vectors', url: host.url, publicKey: host.publicKey, session: 'big', vectors: VECTORS, batch: FILL_BATCH, dims: DIMS, inFlight: 2, seed: 1234 },
      'filled',
    )
  } finally {
    await th.terminate()
  }
}

async function fillMessages(host: HostProcess): Promise<void> {
  const ids = Array.from({ length: SESSIONS }, (_, i) => `chat-${i}`)
  const per = split(CLIENTS, THREADS).filter((n) => n > 0)
  const threads = per.map(() => clientThread())
  try {
    let at = 0
    await Promise.all(
      threads.map((th, t) => {
        const share = Math.round((SESSIONS * per[t]!) / CLIENTS)
        const mine = t === threads.length - 1 ? ids.slice(at) : ids.slice(at, (at += share))
        return th.call({ cmd: 'fill-messages', url: host.url, publicKey: host.publicKey, clients: per[t], ids: mine, messages: MESSAGES }, 'filled')
      }),
    )
  } finally {
    await Promise.all(threads.map((th) => th.terminate()))
  }
}

interface Restart {
  state: string
  from: 'segments' | 'snapshot' | 'empty'
  run: number
  start: MainStart
}

async function restarts(filled: Filled[], emptyDir: string): Promise<Restart[]> {
  const out: Restart[] = []
  // A first start compiles the sources (tsx caches them): not timed.
  await startMainProcess(emptyDir, RESTART_ENV)
  for (let run = 1; run <= RUNS; run++) {
    const plan: { state: string; from: Restart['from']; dir: string }[] = [{ state: 'empty', from: 'empty', dir: emptyDir }]
    for (const f of filled) plan.push({ state: f.name, from: 'segments', dir: f.segDir }, { state: f.name, from: 'snapshot', dir: f.snapDir })
    // Rotate the order each round.
    for (let i = 0; i < plan.length; i++) {
      const p = plan[(i + run - 1) % plan.length]!
      const start = await startMainProcess(p.dir, RESTART_ENV)
      const r = start.recovered
      const f = filled.find((x) => x.name === p.state)
      const sessions = (f?.expect.sessions ?? 0) + (p.from === 'snapshot' ? 1 : 0)
      if (f && (r?.sessions !== sessions || r.messages !== f.expect.messages || r.vectors !== f.expect.vectors))
        throw new Error(`${p.state} from ${p.from}: recovered ${JSON.stringify(r)}, expected ${JSON.stringify(f.expect)}`)
      out.push({ state: p.state, from: p.from, run, start })
      log(
        `restart ${p.state} from ${p.from}, run ${run}: host.started after ${int(start.startedMs)} ms; journal.recovered ${r ? `${int(r.ms)} ms, ${mb(r.bytes)} MB, ${int(r.records)} records, ${r.segments} segments, snapshot ${r.snapshot ?? '-'}` : '-'}`,
      )
      await sleep(500)
    }
  }
  return out
}

function recoveryTable(rs: Restart[], filled: Filled[]): string[] {
  const lines = [
    '| state | recovered from | files read MB | process start → `host.started` s, median (range) | `journal.recovered` ms, median (range) | start minus an empty start s | aim ≤ 5 s |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ]
  const emptyS = median(rs.filter((r) => r.from === 'empty').map((r) => r.start.startedMs / 1000))
  const groups: { state: string; from: Restart['from'] }[] = [{ state: 'empty', from: 'empty' }]
  for (const f of filled) groups.push({ state: f.name, from: 'segments' }, { state: f.name, from: 'snapshot' })
  for (const g of groups) {
    const mine = rs.filter((r) => r.state === g.state && r.from === g.from)
    if (mine.length === 0) continue
    const startS = mine.map((r) => r.start.startedMs / 1000)
    const recMs = mine.map((r) => r.start.recovered?.ms ?? Number.NaN)
    const bytes = mine[0]!.start.recovered?.bytes ?? 0
    const s = median(startS)
    lines.push(
      `| ${g.state === 'empty' ? 'empty journal (baseline: node + tsx + host start)' : g.state} | ${g.from === 'empty' ? '—' : g.from === 'segments' ? 'journal segments only' : 'snapshot'} | ${mb(bytes)} | ${f2(s)} (${range(startS, f2)}) | ${int(median(recMs))} (${range(recMs, int)}) | ${g.from === 'empty' ? '—' : f2(s - emptyS)} | ${g.from === 'empty' ? '' : yes(s <= AIM_RECOVERY_S)} |`,
    )
  }
  return lines
}

function snapshotTable(rows: { name: string; snaps: { stats: SnapshotStats; pings: { p50: number; p99: number; n: number } }[] }[]): string[] {
  const lines = [
    '| state | snapshots | duration s, median (range) | journal-measured ms (capture → rename) | bytes MB | MB/s | host loop delay p99 ms, median (range) | loop max ms (worst) | ping p50 / p99 ms meanwhile | full GCs during it (total / longest ms), median | aim: loop p99 ≤ 20 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for (const { name, snaps } of rows) {
    const d = snaps.map((s) => s.stats.wallMs / 1000)
    const p99 = snaps.map((s) => s.stats.eventLoop.p99)
    const bytes = median(snaps.map((s) => s.stats.bytes))
    const loopP99 = median(p99)
    lines.push(
      `| ${name} | ${snaps.length} | ${f2(median(d))} (${range(d, f2)}) | ${int(median(snaps.map((s) => s.stats.ms)))} | ${mb(bytes)} | ${int(bytes / 1e6 / median(d))} | ${f1(loopP99)} (${range(p99, f1)}) | ${f1(Math.max(...snaps.map((s) => s.stats.eventLoop.max)))} | ${f2(median(snaps.map((s) => s.pings.p50)))} / ${f2(median(snaps.map((s) => s.pings.p99)))} | ${int(median(snaps.map((s) => s.stats.gc.major)))} (${int(median(snaps.map((s) => s.stats.gc.majorMs)))} / ${f1(median(snaps.map((s) => s.stats.gc.majorMaxMs)))}) | ${yes(loopP99 <= AIM_SNAPSHOT_LOOP_MS)} |`,
    )
  }
  return lines
}

// ---------------------------------------------------------------- main

const cpus = os.cpus()
const began = performance.now()
const header = [
  `Machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}/${process.arch}; temporary files in ${os.tmpdir()}`,
  `Date: ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC; load average at start ${load()}`,
  `Sizes: ${QUICK ? '--quick, ' : ''}${RUNS} round(s); throughput ${CLIENTS} clients on ${THREADS} thread(s), per cell ${WARM_S.append} s warm-up + ${SECONDS.append} s measured (appendMessage), ${WARM_S.upload} + ${SECONDS.upload} s (uploadVectors); recovery ${VECTORS.toLocaleString('en-US')} × ${DIMS} vectors in one session and ${SESSIONS.toLocaleString('en-US')} sessions × ${MESSAGES} messages${Object.keys(HOST_ENV).length ? `; host env + ${JSON.stringify(HOST_ENV)}` : ''}`,
]
for (const l of header) console.log(l)
log('')

const output: string[] = []
if (PARTS.has('throughput')) {
  const cells = await throughput()
  const sums = summarizeCells(cells)
  output.push('', `### Throughput (median of ${RUNS} round(s); range of replies/s in brackets; ratios paired within a round)`, '', ...throughputTable(sums))
  const silent = cells.filter((c) => c.config === 'fsync interval' && c.fsyncs === 0)
  const intervals = cells.filter((c) => c.config === 'fsync interval').length
  if (silent.length > 0)
    output.push(
      '',
      `Note: with JOURNAL_FSYNC=interval, ${silent.length} of ${intervals} cells (${[...new Set(silent.map((c) => OP_NAME[c.op]))].join(', ')}) saw no fsync at all in their window, although JOURNAL_FSYNC_MS is 1000.`,
    )
  output.push('', 'All cells:', '', ...cells.map((c) => `- ${cellLine(c)}`))
}

if (PARTS.has('recovery') || PARTS.has('snapshot')) {
  const vectorsName = `1 session × ${VECTORS.toLocaleString('en-US')} vectors × ${DIMS}`
  const messagesName = `${SESSIONS.toLocaleString('en-US')} sessions × ${MESSAGES} messages`
  try {
    const v = await prepare(vectorsName, { sessions: 1, messages: 0, vectors: VECTORS }, fillVectors, PARTS.has('snapshot') ? RUNS : 1)
    const m = await prepare(messagesName, { sessions: SESSIONS, messages: SESSIONS * MESSAGES, vectors: 0 }, fillMessages, 1)
    const fills = [v.filled, m.filled]
    output.push('', '### Fill (not timed as part of anything else)', '')
    for (const f of fills) output.push(`- ${f.name}: filled over the SDK in ${f1(f.fillS)} s; ${mb(f.segmentMB * 1e6)} MB of journal segments`)
    if (PARTS.has('recovery')) {
      const emptyDir = tmp('empty')
      const rs = await restarts(fills, emptyDir)
      output.push('', `### Recovery (src/main.ts under tsx, ${RUNS} start(s) each, interleaved; files in the page cache)`, '', ...recoveryTable(rs, fills))
    }
    if (PARTS.has('snapshot')) {
      output.push(
        '',
        '### Snapshot (triggered over IPC on an otherwise idle host; one client pings every 10 ms)',
        '',
        ...snapshotTable([
          { name: vectorsName, snaps: v.snaps },
          { name: messagesName, snaps: m.snaps },
        ]),
      )
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
}

output.push('', `Load average at end: ${load()}; the whole run took ${f1((performance.now() - began) / 60_000)} min.`)
console.log(output.join('\n'))
