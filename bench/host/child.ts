// A host in its own process for benchmarks, so client load does not share its
// event loop. Answers IPC: 'reset' and 'stats' (event-loop delay since the
// last reset, in ms; plus, since the reset, the process's CPU time, the main
// thread's event-loop utilization, requests answered, journal fsyncs and
// garbage collections, and the journal's files now), 'snapshot' (PERSIST=true only: the FileJournal
// writes a snapshot now; answers its duration, bytes, and the event-loop delay
// and garbage collections while it ran; the 'stats' window restarts), 'stop'. Configuration comes from the environment as usual;
// benches pass rate limits off and a throwaway DATA_DIR. With
// BENCH_TRACE_COMMIT=1 every journal commit is timed (call to durable), for
// 'stats' to report.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { PerformanceObserver, constants, monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks'
import { loadConfig } from '../../src/config.js'
import { FileJournal, type JournalRecord } from '../../src/journal/journal.js'
import { journalDir, listDir, snapshotName } from '../../src/journal/layout.js'
import { createLogger } from '../../src/ops/logger.js'
import { buildServer } from '../../src/server.js'

const config = loadConfig(process.env, { port: 0 })
const server = await buildServer(config, { logger: createLogger(config.logLevel) })
const url = await server.listen()
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()

const ms = (ns: number): number => Math.round((ns / 1e6) * 100) / 100
const loop = () => ({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) })
const journal = server.ctx.journal instanceof FileJournal ? server.ctx.journal : undefined
const metrics = server.ctx.metrics

/** Sum of a prom-client metric's values whose name ends with `suffix` (all label sets). */
async function metricSum(m: { get(): Promise<{ values: { value: number; metricName?: string }[] }> }, suffix = ''): Promise<number> {
  const { values } = await m.get()
  return values.filter((v) => suffix === '' || (v.metricName ?? '').endsWith(suffix)).reduce((s, v) => s + v.value, 0)
}

interface Counters {
  cpu: NodeJS.CpuUsage
  elu: EventLoopUtilization
  t: number
  requests: number
  fsyncs: number
  fsyncSeconds: number
  snapshots: number
}
const counters = async (): Promise<Counters> => ({
  cpu: process.cpuUsage(),
  elu: performance.eventLoopUtilization(),
  t: performance.now(),
  requests: await metricSum(metrics.requests),
  fsyncs: await metricSum(metrics.fsyncSeconds, '_count'),
  fsyncSeconds: await metricSum(metrics.fsyncSeconds, '_sum'),
  snapshots: await metricSum(metrics.snapshotSeconds, '_count'),
})
let since = await counters()

// Garbage collections since the last reset: full (mark-compact) pauses, and all of them.
const gc = { major: 0, majorMs: 0, majorMaxMs: 0, all: 0, allMs: 0 }
const resetGc = (): void => void Object.assign(gc, { major: 0, majorMs: 0, majorMaxMs: 0, all: 0, allMs: 0 })
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.all++
    gc.allMs += e.duration
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.major++
      gc.majorMs += e.duration
      gc.majorMaxMs = Math.max(gc.majorMaxMs, e.duration)
    }
  }
}).observe({ entryTypes: ['gc'] })

// Opt-in: time every journal commit (the wait a change spends on the journal before it is applied).
let commitMs: number[] = []
let commitRecords = 0
if (process.env.BENCH_TRACE_COMMIT === '1') {
  const j = server.ctx.journal
  const commit = j.commit.bind(j)
  ;(j as { commit: typeof j.commit }).commit = (records: readonly JournalRecord[]) => {
    const t0 = performance.now()
    const p = commit(records)
    commitRecords += records.length
    void p?.then(
      () => commitMs.push(performance.now() - t0),
      () => undefined,
    )
    return p
  }
}

function latestSnapshot(): { number: number; bytes: number } | undefined {
  const dir = journalDir(config.dataDir)
  const n = listDir(dir).snapshots.at(-1)
  return n === undefined ? undefined : { number: n, bytes: statSync(join(dir, snapshotName(n))).size }
}

process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'reset') {
    delay.reset()
    resetGc()
    since = await counters()
    commitMs = []
    commitRecords = 0
    process.send?.({ type: 'reset' })
  } else if (msg.cmd === 'stats') {
    const now = await counters()
    const cpu = process.cpuUsage(since.cpu)
    const sorted = [...commitMs].sort((a, b) => a - b)
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
    process.send?.({
      type: 'stats',
      eventLoop: loop(),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      vectors: server.ctx.vectors.stats(),
      sinceReset: {
        ms: now.t - since.t,
        cpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
        /** Share of the time the main thread's event loop was busy. */
        elu: performance.eventLoopUtilization(now.elu, since.elu).utilization,
        requests: now.requests - since.requests,
        fsyncs: now.fsyncs - since.fsyncs,
        fsyncMs: (now.fsyncSeconds - since.fsyncSeconds) * 1000,
        snapshots: now.snapshots - since.snapshots,
        gc: { ...gc },
        commits: commitMs.length > 0 ? { n: commitMs.length, records: commitRecords, p50: at(50), p99: at(99), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length } : null,
      },
      journal: journal ? { ...journal.stats(), healthy: journal.healthy } : null,
    })
  } else if (msg.cmd === 'snapshot') {
    if (!journal) {
      process.send?.({ type: 'snapshot', error: 'PERSIST=false: no journal to snapshot' })
      return
    }
    const before = await metricSum(metrics.snapshotSeconds, '_sum')
    delay.reset()
    resetGc()
    const t0 = performance.now()
    await journal.snapshot()
    const wallMs = performance.now() - t0
    const eventLoop = loop()
    const gcDuring = { ...gc }
    const snap = latestSnapshot()
    process.send?.({
      type: 'snapshot',
      wallMs,
      /** The journal's own measure (capture to durable rename; without the rotation before it). */
      ms: ((await metricSum(metrics.snapshotSeconds, '_sum')) - before) * 1000,
      bytes: snap?.bytes ?? 0,
      number: snap?.number,
      eventLoop,
      gc: gcDuring,
    })
  } else if (msg.cmd === 'gc') {
    // Only with --expose-gc: a full collection of the main thread's heap, so RSS after it counts what is live there.
    const collect = (globalThis as { gc?: () => void }).gc
    collect?.()
    process.send?.({ type: 'gc', collected: collect !== undefined, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) })
  } else if (msg.cmd === 'stop') {
    await server.close()
    process.exit(0)
  }
})
process.send?.({
  type: 'ready',
  url,
  publicKey: server.ctx.identity.publicKeyBase64,
  /** Milliseconds since this process started (performance's time origin). */
  uptimeMs: performance.now(),
  recovery: journal?.report ?? null,
})
