// bench:load's report: the JSON object, the tables on stdout, the verdict.
import { OPERATIONS, summarize, type Recorder } from './stats.js'

export interface OperationReport {
  count: number
  ops_per_s: number
  p50_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  max_ms: number | null
  errors_by_code: Record<string, number>
  timeouts: number
}

export interface HostReport {
  /** From the host's /metrics at the end; null when it could not be read. */
  rss_mib: number | null
  heap_mib: number | null
  event_loop_p99_ms: number | null
  /** Whether the tool started the host itself. */
  started_by_tool: boolean
  /** PERSIST and JOURNAL_FSYNC as the host started; "unknown" when not known. */
  persist: string
  journal_fsync: string
}

export interface LoadReport {
  verdict: 'pass' | 'fail'
  errors: number
  timeouts: number
  elapsed_s: number
  operations: Record<string, OperationReport>
  host: HostReport
  /** The load generator's own event-loop delay p99 (ms): high means the clients, not the host, were the limit. */
  generator: { event_loop_p99_ms: number | null }
  flags: Record<string, string | number | boolean | null>
  machine: { cpu: string; cores: number; memory_gib: number; node: string; platform: string }
  date: string
  note: string
}

export const SHARED_NOTE = 'clients run in one process; with a host the tool starts, clients and host share this machine'

export function verdict(errors: number, timeouts: number): { verdict: 'pass' | 'fail'; line: string } {
  if (errors === 0 && timeouts === 0) return { verdict: 'pass', line: 'verdict: pass' }
  return { verdict: 'fail', line: `verdict: fail (${errors} error${errors === 1 ? '' : 's'}, ${timeouts} timeout${timeouts === 1 ? '' : 's'})` }
}

const ms = (x: number): number | null => (Number.isNaN(x) ? null : Math.round(x * 1000) / 1000)

export interface ReportInput {
  recorder: Recorder
  elapsedS: number
  host: HostReport
  generatorLoopP99Ms: number | null
  flags: LoadReport['flags']
  machine: LoadReport['machine']
  date: Date
}

/** Operations that never ran (no success, error or timeout) are left out. */
export function buildReport(input: ReportInput): LoadReport {
  const { recorder, elapsedS } = input
  const operations: Record<string, OperationReport> = {}
  for (const op of OPERATIONS) {
    const s = recorder.ops.get(op)!
    const errors = Object.values(s.errorsByCode).reduce((a, b) => a + b, 0)
    if (s.latencies.length === 0 && errors === 0 && s.timeouts === 0) continue
    const sum = summarize(s.latencies)
    operations[op] = {
      count: sum.count,
      ops_per_s: elapsedS > 0 ? Math.round((sum.count / elapsedS) * 10) / 10 : 0,
      p50_ms: ms(sum.p50),
      p95_ms: ms(sum.p95),
      p99_ms: ms(sum.p99),
      max_ms: ms(sum.max),
      errors_by_code: { ...s.errorsByCode },
      timeouts: s.timeouts,
    }
  }
  return {
    verdict: verdict(recorder.errors, recorder.timeouts).verdict,
    errors: recorder.errors,
    timeouts: recorder.timeouts,
    elapsed_s: Math.round(elapsedS * 100) / 100,
    operations,
    host: input.host,
    generator: { event_loop_p99_ms: input.generatorLoopP99Ms },
    flags: input.flags,
    machine: input.machine,
    date: input.date.toISOString(),
    note: SHARED_NOTE,
  }
}

const cell = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(2))
const codes = (e: Record<string, number>): string =>
  Object.entries(e)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ') || '0'

function table(header: string[], rows: string[][]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]): string => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ')} |`
  return [line(header), `| ${w.map((n, i) => (i === 0 ? '-'.repeat(n) : '-'.repeat(n - 1) + ':')).join(' | ')} |`, ...rows.map(line)]
}

/** The text for stdout; its last line is the verdict. */
export function formatReport(r: LoadReport): string {
  const f = r.flags
  const out: string[] = [
    `bench:load ${r.date.slice(0, 19)}Z: ${f.clients} clients, ${f.rounds === null ? `${f.duration} s` : `${f.rounds} rounds`}, ${f.vectors} vectors × ${f.dim} per session (batches of ${f.batch}), ${f.searches} searches per round, rate ${f.rate}${f.reinit ? ', reinit' : ''}${f.churn ? `, churn ${f.churn}` : ''}; ${r.elapsed_s} s in all`,
    `machine: ${r.machine.cpu} × ${r.machine.cores}, ${r.machine.memory_gib} GiB, Node ${r.machine.node}, ${r.machine.platform}; ${r.note}`,
    '',
  ]
  const rows = Object.entries(r.operations).map(([op, o]) => [
    op,
    String(o.count),
    o.ops_per_s.toFixed(1),
    cell(o.p50_ms),
    cell(o.p95_ms),
    cell(o.p99_ms),
    cell(o.max_ms),
    codes(o.errors_by_code),
    String(o.timeouts),
  ])
  out.push(...table(['operation', 'count', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'timeouts'], rows), '')
  const h = r.host
  out.push(
    `host (${h.started_by_tool ? 'started by the tool' : 'given by --url'}): RSS ${h.rss_mib ?? '?'} MiB, heap ${h.heap_mib ?? '?'} MiB, event-loop delay p99 ${h.event_loop_p99_ms ?? '?'} ms; PERSIST ${h.persist}, JOURNAL_FSYNC ${h.journal_fsync}`,
    `load generator: event-loop delay p99 ${r.generator.event_loop_p99_ms ?? '?'} ms`,
    verdict(r.errors, r.timeouts).line,
  )
  return out.join('\n') + '\n'
}

/** The three figures bench:load reports, from a Prometheus text exposition. */
export function hostFigures(metricsText: string): Pick<HostReport, 'rss_mib' | 'heap_mib' | 'event_loop_p99_ms'> {
  const value = (name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(metricsText)
    const n = m ? Number(m[1]) : Number.NaN
    return Number.isFinite(n) ? n : null
  }
  const round = (x: number | null, div: number): number | null => (x === null ? null : Math.round((x / div) * 10) / 10)
  return {
    rss_mib: round(value('process_resident_memory_bytes'), 2 ** 20),
    heap_mib: round(value('nodejs_heap_size_used_bytes'), 2 ** 20),
    event_loop_p99_ms: round(value('nodejs_eventloop_lag_p99_seconds'), 1e-3),
  }
}
