// bench:load's flags: node's util.parseArgs (`--flag value` and `--flag=value`),
// then every value checked. A problem throws UsageError naming the flag; the
// entry prints it with the usage text and exits 2.
import { UsageError, parseFlags } from '../lib/cli.js'

export interface LoadOptions {
  /** A running host; undefined: the tool starts one itself. */
  url: string | undefined
  clients: number
  /** Seconds of rounds; undefined when `rounds` is set. */
  duration: number | undefined
  /** Rounds per client; undefined when `duration` is set. */
  rounds: number | undefined
  vectors: number
  dim: number
  batch: number
  searches: number
  thinkMs: number
  /** Total requests per second for all clients together; Infinity: closed loop (`max`). */
  rate: number
  reinit: boolean
  churn: number
  seed: number
  timeoutMs: number
  json: string | undefined
  adminToken: string | undefined
}

export { UsageError }

export const DEFAULT_DURATION_S = 30

export const USAGE = `Usage: npm run bench:load -- [flags]   (both --flag value and --flag=value)

  --url URL           a running host (http, https, ws or wss); default: start one on a free port
  --clients N         concurrent SDK clients, one session each (default 200)
  --duration S        run for S seconds: no round starts later (default ${DEFAULT_DURATION_S}; not with --rounds)
  --rounds N          rounds per client instead of a duration
  --vectors N         vectors each session uploads (default 200)
  --dim N             values per vector (default 384)
  --batch N           vectors per uploadVectors request (default 100)
  --searches N        searchVectors per session per round, half of them filtered (default 2)
  --think-ms MS       pause between a client's rounds (default 0)
  --rate R            total requests/s for all clients, paced; "max": closed loop (default max)
  --reinit            re-init the session with a new key before every operation
  --churn F           fraction of rounds (0..1) that drop the socket and reconnect (default 0)
  --seed N            seed of the vectors and of the churn draws (default 42)
  --timeout-ms MS     per-request timeout; a request past it counts as a timeout (default 30000)
  --json FILE         also write the report as JSON to FILE
  --admin-token T     with --url: read /v1/admin/stats to report whether the journal is on
  --help              this text
`

const OPTIONS = {
  url: { type: 'string' },
  clients: { type: 'string' },
  duration: { type: 'string' },
  rounds: { type: 'string' },
  vectors: { type: 'string' },
  dim: { type: 'string' },
  batch: { type: 'string' },
  searches: { type: 'string' },
  'think-ms': { type: 'string' },
  rate: { type: 'string' },
  reinit: { type: 'boolean' },
  churn: { type: 'string' },
  seed: { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'string' },
  'admin-token': { type: 'string' },
  help: { type: 'boolean' },
} as const

type Raw = Partial<Record<keyof typeof OPTIONS, string | boolean>>

function int(raw: Raw, flag: keyof typeof OPTIONS, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = raw[flag]
  if (v === undefined) return dflt
  const n = Number(v)
  if (typeof v !== 'string' || !/^-?\d+$/.test(v.trim()) || n < min || n > max) {
    throw new UsageError(`--${flag}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${String(v)}'`)
  }
  return n
}

function num(raw: Raw, flag: keyof typeof OPTIONS, dflt: number, min: number, max: number, minExclusive = false): number {
  const v = raw[flag]
  if (v === undefined) return dflt
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (!Number.isFinite(n) || n < min || n > max || (minExclusive && n === min)) {
    throw new UsageError(`--${flag}: expected a number ${minExclusive ? '>' : '>='} ${min}${max === Infinity ? '' : ` and <= ${max}`}, got '${String(v)}'`)
  }
  return n
}

function url(v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw new UsageError(`--url: not a URL: '${v}'`)
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new UsageError(`--url: expected http, https, ws or wss, got '${v}'`)
  return v.replace(/\/+$/, '')
}

/** The options, or `'help'` for --help. Throws UsageError. */
export function parseLoadArgs(argv: readonly string[]): LoadOptions | 'help' {
  const raw: Raw = parseFlags(argv, OPTIONS)
  if (raw.help === true) return 'help'
  if (raw.duration !== undefined && raw.rounds !== undefined) throw new UsageError('--duration and --rounds: give one of them, not both')
  const rounds = raw.rounds === undefined ? undefined : int(raw, 'rounds', 0, 1)
  const rate = raw.rate === 'max' ? Infinity : num(raw, 'rate', Infinity, 0, Infinity, true)
  return {
    url: url(raw.url as string | undefined),
    clients: int(raw, 'clients', 200, 1),
    duration: rounds === undefined ? num(raw, 'duration', DEFAULT_DURATION_S, 0, Infinity, true) : undefined,
    rounds,
    vectors: int(raw, 'vectors', 200, 0),
    dim: int(raw, 'dim', 384, 1, 65536),
    batch: int(raw, 'batch', 100, 1),
    searches: int(raw, 'searches', 2, 0),
    thinkMs: num(raw, 'think-ms', 0, 0, Infinity),
    rate,
    reinit: raw.reinit === true,
    churn: num(raw, 'churn', 0, 0, 1),
    seed: int(raw, 'seed', 42, 0, 2 ** 32 - 1),
    timeoutMs: int(raw, 'timeout-ms', 30_000, 1),
    json: raw.json as string | undefined,
    adminToken: raw['admin-token'] as string | undefined,
  }
}

/** The flags as the report records them (rate `max` stays a word). */
export function flagsUsed(o: LoadOptions): Record<string, string | number | boolean | null> {
  return {
    url: o.url ?? null,
    clients: o.clients,
    duration: o.duration ?? null,
    rounds: o.rounds ?? null,
    vectors: o.vectors,
    dim: o.dim,
    batch: o.batch,
    searches: o.searches,
    think_ms: o.thinkMs,
    rate: Number.isFinite(o.rate) ? o.rate : 'max',
    reinit: o.reinit,
    churn: o.churn,
    seed: o.seed,
    timeout_ms: o.timeoutMs,
  }
}
