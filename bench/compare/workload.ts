// Part 4 of bench:compare: the whole workload, through bench/load.ts run as a
// child process (`--clients N --duration D --json FILE`), its JSON read back.
// If the tool is missing, fails, or writes no JSON, this part says so and
// moves on: it does not generate load of its own.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { f1, int, ratio, table } from './format.js'

export interface WorkloadOptions {
  clients: number[]
  duration: number
}

interface OpStats {
  count: number
  ops_per_s: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  max_ms: number
  errors_by_code: Record<string, number>
}

export interface LoadReport {
  verdict: 'pass' | 'fail'
  errors: number
  timeouts: number
  operations: Record<string, OpStats>
  host: { rss_mib: number; heap_mib: number; event_loop_p99_ms: number }
}

const LOAD = fileURLToPath(new URL('../load.ts', import.meta.url))

function isReport(v: unknown): v is LoadReport {
  const r = v as Partial<LoadReport> | null
  return typeof r === 'object' && r !== null && typeof r.verdict === 'string' && typeof r.operations === 'object' && r.operations !== null && typeof r.host === 'object'
}

/** Runs the load tool once; a report, or why there is none. */
async function runLoad(clients: number, duration: number): Promise<LoadReport | string> {
  if (!existsSync(LOAD)) return 'bench/load.ts does not exist'
  const dir = mkdtempSync(join(tmpdir(), 'rsh-compare-'))
  const file = join(dir, 'load.json')
  try {
    const child = spawn(process.execPath, ['--import=tsx', '--conditions=rsh-source', LOAD, '--clients', String(clients), '--duration', String(duration), '--json', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)))
    const limitMs = (duration * 4 + 120) * 1000
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    clearTimeout(timer)
    if (!existsSync(file)) {
      const last = stderr.trim().split('\n').at(-1) ?? ''
      return `exit ${code ?? 'killed'} and no JSON written${last ? `: ${last.slice(0, 200)}` : ''}`
    }
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return isReport(parsed) ? parsed : 'its JSON lacks verdict/operations/host'
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const totalOps = (r: LoadReport): number => Object.values(r.operations).reduce((s, o) => s + o.ops_per_s, 0)

export async function runWorkload(o: WorkloadOptions): Promise<string> {
  const reports: [number, LoadReport][] = []
  for (const n of o.clients) {
    console.error(`workload: bench/load.ts --clients ${n} --duration ${o.duration} ...`)
    const r = await runLoad(n, o.duration)
    if (typeof r === 'string') return `skipped: bench/load.ts not available (${r})`
    reports.push([n, r])
  }
  const ops = [...new Set(reports.flatMap(([, r]) => Object.keys(r.operations)))]
  const base = reports[0]!
  const rows = reports.map(([n, r]) => [
    int(n),
    r.verdict === 'pass' ? 'pass' : '**fail**',
    int(r.errors),
    int(r.timeouts),
    int(totalOps(r)),
    ratio(totalOps(r) / totalOps(base[1])),
    ...ops.map((op) => {
      const s = r.operations[op]
      return s ? `${f1(s.p50_ms)} / ${f1(s.p99_ms)}` : '—'
    }),
    int(r.host.rss_mib),
    int(r.host.heap_mib),
    f1(r.host.event_loop_p99_ms),
  ])
  return [
    `\`bench/load.ts --clients N --duration ${o.duration} --json FILE\`, one run per client count, each on the host the tool starts; read from its JSON.`,
    '',
    table(
      [
        'clients',
        'verdict',
        'errors',
        'timeouts',
        'ops/s (all operations)',
        `ops/s vs ${base[0]} clients`,
        ...ops.map((op) => `${op} p50 / p99 ms`),
        'host RSS MiB',
        'heap MiB',
        'host loop p99 ms',
      ],
      'llrrrr' + 'r'.repeat(ops.length + 3),
      rows,
    ),
    '',
    `Aim (issue #9): 0 errors and 0 timeouts at 500 clients: ${reports.find(([n]) => n === 500) ? (reports.some(([n, r]) => n === 500 && r.errors === 0 && r.timeouts === 0) ? 'met' : '**not met**') : 'not run'}.`,
  ].join('\n')
}
