// bench:soak's flags: node's util.parseArgs (`--flag value` and `--flag=value`),
// then every value checked. A problem throws UsageError (bench:load's) naming
// the flag; the entry prints it with the usage text and exits 2.
import { UsageError, parseFlags } from '../lib/cli.js'

export interface SoakOptions {
  minutes: number
  warmupMinutes: number
  clients: number
  /** Total requests per second for all clients together (paced). */
  rate: number
  sampleS: number
  /** Mean life of a session, s: then the client ends it and opens a new one (new id, new connection). */
  sessionS: number
  vectors: number
  churn: number
  heapDiff: boolean
  json: string | undefined
  seed: number
}

export const USAGE = `Usage: npm run bench:soak -- [flags]   (both --flag value and --flag=value)

  --minutes M          length of the soak (default 10)
  --warmup-minutes M   warm-up before the baseline sample, < --minutes (default 2)
  --clients N          concurrent SDK clients (default 100)
  --rate R             total requests/s for all clients, paced (default 500)
  --sample-s S         seconds between samples of the host's RSS and heap (default 30)
  --session-s S        mean life of a session: then it is ended and a new one opened (default 20)
  --vectors N          vectors each session uploads (default 200, dim 384)
  --churn F            fraction of rounds (0..1) that drop the socket and reconnect (default 0.05)
  --heap-diff          always diff heap snapshots (end of warm-up, end); default: only on a fail
  --json FILE          also write the report as JSON to FILE
  --seed N             seed of the vectors, churn draws and session lives (default 42)
  --help               this text
`

const OPTIONS = {
  minutes: { type: 'string' },
  'warmup-minutes': { type: 'string' },
  clients: { type: 'string' },
  rate: { type: 'string' },
  'sample-s': { type: 'string' },
  'session-s': { type: 'string' },
  vectors: { type: 'string' },
  churn: { type: 'string' },
  'heap-diff': { type: 'boolean' },
  json: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean' },
} as const

type Raw = Partial<Record<keyof typeof OPTIONS, string | boolean>>

function num(raw: Raw, flag: keyof typeof OPTIONS, dflt: number, min: number, max: number, opts: { integer?: boolean; minExclusive?: boolean } = {}): number {
  const v = raw[flag]
  if (v === undefined) return dflt
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (!Number.isFinite(n) || n < min || n > max || (opts.minExclusive && n === min) || (opts.integer && !Number.isInteger(n))) {
    const what = opts.integer ? 'an integer' : 'a number'
    throw new UsageError(`--${flag}: expected ${what} ${opts.minExclusive ? '>' : '>='} ${min}${max === Infinity ? '' : ` and <= ${max}`}, got '${String(v)}'`)
  }
  return n
}

/** The options, or `'help'` for --help. Throws UsageError. */
export function parseSoakArgs(argv: readonly string[]): SoakOptions | 'help' {
  const raw: Raw = parseFlags(argv, OPTIONS)
  if (raw.help === true) return 'help'
  const minutes = num(raw, 'minutes', 10, 0, Infinity, { minExclusive: true })
  const warmupMinutes = num(raw, 'warmup-minutes', 2, 0, Infinity)
  if (warmupMinutes >= minutes) throw new UsageError(`--warmup-minutes: must be less than --minutes (${minutes}), got '${String(raw['warmup-minutes'] ?? warmupMinutes)}'`)
  return {
    minutes,
    warmupMinutes,
    clients: num(raw, 'clients', 100, 1, 100_000, { integer: true }),
    rate: num(raw, 'rate', 500, 0, Infinity, { minExclusive: true }),
    sampleS: num(raw, 'sample-s', 30, 1, Infinity),
    sessionS: num(raw, 'session-s', 20, 1, Infinity),
    vectors: num(raw, 'vectors', 200, 0, 1_000_000, { integer: true }),
    churn: num(raw, 'churn', 0.05, 0, 1),
    heapDiff: raw['heap-diff'] === true,
    json: raw.json as string | undefined,
    seed: num(raw, 'seed', 42, 0, 2 ** 32 - 1, { integer: true }),
  }
}
