// bench:soak's orchestration: a host in its own process (short retention, so
// ended sessions are dropped within the soak), clients that end their
// session and open a new one all along, a sample of the host's memory every
// --sample-s, the growth after the warm-up, the verdict, and on a fail (or
// with --heap-diff) a diff of two heap snapshots of the host.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { endpoints } from '@rag-session-host/client'
import { rng } from '../lib/rng.js'
import { startHostProcess, type HostProcess } from '../host/spawn.js'
import type { LoadOptions } from '../load/args.js'
import { Pacer } from '../load/pacer.js'
import type { Io } from '../load/run.js'
import { OPERATIONS, Recorder, summarize } from '../load/stats.js'
import { runClient } from '../load/workload.js'
import type { SoakOptions } from './args.js'
import { diffSummaries, summarizeFile, takeSnapshot } from './heap.js'
import { SAMPLE_HEADER, growth, heapDiffLines, sampleLine, verdict, type Sample } from './report.js'
import { rssBytes } from '../lib/proc.js'

/** The host's environment beyond bench/host/spawn.ts's (rate limits off there). */
export const SOAK_ENV = {
  MAX_CONNECTIONS_PER_IP: '0',
  MAX_SESSIONS_PER_IP: '0',
  INIT_RATE_PER_IP: '0',
  MAX_SESSIONS: '100000',
  RETENTION_MS: '30000',
  RECONNECT_GRACE_MS: '30000',
  SWEEP_INTERVAL_MS: '1000',
}

function vmRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    return Math.round((rssBytes(pid) / 2 ** 20) * 10) / 10
  } catch {
    return null
  }
}

/** Values of a metric by its label text ('' without labels). */
function metric(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})?\\s+(\\S+)`, 'gm'))) out.set(m[1] ?? '', Number(m[2]))
  return out
}

export async function runSoak(opts: SoakOptions, io: Io): Promise<number> {
  const diagDir = mkdtempSync(join(tmpdir(), 'rsh-soak-heap-'))
  let host: HostProcess
  try {
    host = await startHostProcess(SOAK_ENV, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${diagDir}`] })
  } catch (err) {
    io.stderr(`bench:soak: cannot start a host: ${(err as Error).message}\n`)
    rmSync(diagDir, { recursive: true, force: true })
    return 1
  }
  const pid = host.pid
  const metricsUrl = `${endpoints(host.url).hostInfoUrl.replace(/\/v1\/host$/, '')}/metrics`
  const getMetrics = async (): Promise<string> => {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(120_000) })
    if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`)
    return res.text()
  }
  const persist = (await host.stats()).journal ? `on (JOURNAL_FSYNC ${process.env.JOURNAL_FSYNC ?? 'always'})` : 'off'

  const recorder = new Recorder()
  const pacer = new Pacer(opts.rate)
  const t0 = performance.now()
  const end = t0 + opts.minutes * 60_000
  const warmupS = opts.warmupMinutes * 60
  const elapsed = (): number => (performance.now() - t0) / 1000
  const run = Date.now().toString(36)
  const loadOpts: LoadOptions = {
    url: host.url,
    clients: opts.clients,
    duration: opts.minutes * 60,
    rounds: undefined,
    vectors: opts.vectors,
    dim: 384,
    batch: 100,
    searches: 2,
    thinkMs: 0,
    rate: opts.rate,
    reinit: false,
    churn: opts.churn,
    seed: opts.seed,
    timeoutMs: 30_000,
    json: undefined,
    adminToken: undefined,
  }
  let sessionsOpened = 0

  /** One client slot: sessions one after another, each `--session-s` × 0.5..1.5 long, each with a new id, key and connection. */
  async function slot(index: number): Promise<void> {
    const draw = rng(opts.seed * 31 + index + 1)
    for (let life = 0; performance.now() < end; life++) {
      const errorsBefore = recorder.errors + recorder.timeouts
      const deadline = Math.min(end, performance.now() + opts.sessionS * 1000 * (0.5 + draw()))
      sessionsOpened++
      await runClient({
        index,
        url: host.url,
        hostPublicKey: host.publicKey,
        sessionPrefix: `soak-${run}-${life}-`,
        opts: { ...loadOpts, seed: opts.seed + life * 1009 },
        deadline,
        recorder,
        pacer,
      })
      if (recorder.errors + recorder.timeouts > errorsBefore) await sleep(1000) // do not spin on a failing host
    }
  }

  const samples: Sample[] = []
  const sample = async (): Promise<Sample> => {
    const text = await getMetrics()
    const byStatus = Object.fromEntries([...metric(text, 'rsh_sessions')].map(([l, v]) => [/status="([^"]*)"/.exec(l)?.[1] ?? l, v]))
    const heap = metric(text, 'nodejs_heap_size_used_bytes').get('')
    const promRss = metric(text, 'process_resident_memory_bytes').get('')
    const s: Sample = {
      elapsed_s: Math.round(elapsed()),
      rss_mib: vmRssMiB(pid) ?? (promRss === undefined ? null : Math.round((promRss / 2 ** 20) * 10) / 10),
      heap_used_mib: heap === undefined ? null : Math.round((heap / 2 ** 20) * 10) / 10,
      sessions: Object.keys(byStatus).length ? Object.values(byStatus).reduce((a, b) => a + b, 0) : null,
      sessions_by_status: byStatus,
      ops: recorder.done,
      errors: recorder.errors,
      timeouts: recorder.timeouts,
    }
    samples.push(s)
    return s
  }

  const cpus = os.cpus()
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  }
  const date = new Date()
  io.stdout(
    `bench:soak ${date.toISOString().slice(0, 19)}Z: ${opts.minutes} min (warm-up ${opts.warmupMinutes} min), ${opts.clients} clients, rate ${opts.rate}/s, sessions of ~${opts.sessionS} s (${opts.vectors} vectors × 384 each), churn ${opts.churn}, sample every ${opts.sampleS} s, seed ${opts.seed}\n` +
      `machine: ${machine.cpu} × ${machine.cores}, ${machine.memory_gib} GiB, Node ${machine.node}, ${machine.platform}; clients and host share it\n` +
      `host: pid ${pid ?? '?'}, PERSIST ${persist}, RETENTION_MS ${SOAK_ENV.RETENTION_MS}, RECONNECT_GRACE_MS ${SOAK_ENV.RECONNECT_GRACE_MS}, SWEEP_INTERVAL_MS ${SOAK_ENV.SWEEP_INTERVAL_MS}\n\n`,
  )

  let warmSnapshot: string | undefined
  let endSnapshot: string | undefined
  let fatal: string | undefined
  const clients = Promise.all(Array.from({ length: opts.clients }, (_, i) => slot(i)))
  try {
    io.stdout(SAMPLE_HEADER.join('\n') + '\n')
    io.stdout(sampleLine(await sample()) + '\n')
    for (let k = 1; ; k++) {
      const at = Math.min(end, t0 + k * opts.sampleS * 1000)
      await sleep(Math.max(0, at - performance.now()))
      const atWarmup = warmSnapshot === undefined && (at - t0) / 1000 >= warmupS - 0.5
      if (atWarmup && pid !== undefined) {
        // Always at the end of the warm-up, so a fail can say where the memory went; before the baseline sample, which then includes its cost.
        io.stderr(`[${elapsed().toFixed(0)} s] heap snapshot of the host (end of warm-up)…\n`)
        warmSnapshot = await takeSnapshot(pid, diagDir, getMetrics)
      }
      io.stdout(sampleLine(await sample(), atWarmup ? ' (baseline)' : '') + '\n')
      if (at >= end) break
    }
  } catch (err) {
    fatal = (err as Error).message
  }
  const g = growth(samples, warmupS)
  const v = verdict(g, recorder.errors, recorder.timeouts)
  const wantDiff = fatal === undefined && pid !== undefined && warmSnapshot !== undefined && (opts.heapDiff || v.verdict === 'fail')
  if (wantDiff) {
    try {
      io.stderr(`[${elapsed().toFixed(0)} s] heap snapshot of the host (end)…\n`)
      endSnapshot = await takeSnapshot(pid, diagDir, getMetrics)
    } catch (err) {
      fatal = (err as Error).message
    }
  }
  await clients
  await host.stop()

  const out: string[] = ['']
  if (fatal !== undefined) out.push(`bench:soak: ${fatal}`)
  if (g) {
    out.push(
      `growth after the warm-up (${g.baseline.elapsed_s} s → ${g.last.elapsed_s} s): RSS ${g.baseline.rss_mib} → ${g.last.rss_mib} MiB (${g.rss_pct === null ? '?' : `${g.rss_pct >= 0 ? '+' : ''}${g.rss_pct} %`}), heap used ${g.baseline.heap_used_mib} → ${g.last.heap_used_mib} MiB (${g.heap_pct === null ? '?' : `${g.heap_pct >= 0 ? '+' : ''}${g.heap_pct} %`})`,
    )
  }
  out.push(`sessions opened ${sessionsOpened}; operations ${recorder.done} (${(recorder.done / elapsed()).toFixed(0)}/s), errors ${recorder.errors}, timeouts ${recorder.timeouts}`)
  const ops: Record<string, { count: number; p50_ms: number; p99_ms: number; max_ms: number; errors_by_code: Record<string, number>; timeouts: number }> = {}
  for (const op of OPERATIONS) {
    const s = recorder.ops.get(op)!
    const n = Object.values(s.errorsByCode).reduce((a, b) => a + b, 0)
    if (s.latencies.length === 0 && n === 0 && s.timeouts === 0) continue
    const sum = summarize(s.latencies)
    const r2 = (x: number): number => Math.round(x * 100) / 100
    ops[op] = { count: sum.count, p50_ms: r2(sum.p50), p99_ms: r2(sum.p99), max_ms: r2(sum.max), errors_by_code: { ...s.errorsByCode }, timeouts: s.timeouts }
    const errs =
      Object.entries(s.errorsByCode)
        .map(([c, k]) => `${c}: ${k}`)
        .join(', ') || '0'
    out.push(`  ${op.padEnd(20)} ${String(sum.count).padStart(8)}  p50 ${r2(sum.p50)} ms  p99 ${r2(sum.p99)} ms  max ${r2(sum.max)} ms  errors ${errs}  timeouts ${s.timeouts}`)
  }
  let heapDiff: ReturnType<typeof diffSummaries> | null = null
  if (warmSnapshot !== undefined && endSnapshot !== undefined) {
    try {
      heapDiff = diffSummaries(summarizeFile(warmSnapshot), summarizeFile(endSnapshot))
      out.push('', ...heapDiffLines(heapDiff))
    } catch (err) {
      out.push(`bench:soak: heap snapshot diff failed: ${(err as Error).message}`)
      fatal ??= 'heap snapshot diff failed'
    }
  }
  rmSync(diagDir, { recursive: true, force: true })
  out.push('', fatal === undefined ? v.line : `verdict: fail (${fatal})`)
  io.stdout(out.join('\n') + '\n')

  if (opts.json !== undefined) {
    const report = {
      verdict: fatal === undefined ? v.verdict : 'fail',
      aim_rss_growth_pct: 10,
      growth: g ? { baseline_s: g.baseline.elapsed_s, last_s: g.last.elapsed_s, rss_pct: g.rss_pct, heap_pct: g.heap_pct } : null,
      errors: recorder.errors,
      timeouts: recorder.timeouts,
      sessions_opened: sessionsOpened,
      samples,
      operations: ops,
      heap_diff: heapDiff,
      host: { pid: pid ?? null, persist, env: SOAK_ENV },
      flags: { ...opts, json: undefined },
      machine,
      date: date.toISOString(),
      error: fatal ?? null,
    }
    writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n')
  }
  return fatal === undefined && v.verdict === 'pass' ? 0 : 1
}
