// bench:compare's flags (node's util.parseArgs: `--flag value` and `--flag=value`).
import { parseArgs } from 'node:util'

export const PARTS = ['transport', 'engine', 'handshake', 'workload'] as const
export type Part = (typeof PARTS)[number]

export interface CompareArgs {
  vectors: number
  dim: number
  /** Search round trips per candidate (stack, echo, engine), over all blocks. */
  samples: number
  /** Blocks the samples are split into; candidates alternate block by block. */
  blocks: number
  /** Concurrent clients for the handshake part. */
  clients: number
  /** Client counts for the workload part. */
  workloadClients: number[]
  /** Seconds per workload run; also seconds per handshake block. */
  duration: number
  handshakeBlocks: number
  parts: Set<Part>
  quick: boolean
}

export const USAGE = `usage: npm run bench:compare -- [--vectors 20000] [--dim 384] [--samples 3000] [--blocks 10]
  [--clients 50] [--workload-clients 50,200,500] [--duration 10] [--handshake-blocks 6]
  [--parts transport,engine,handshake,workload] [--quick]`

function positiveInt(name: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return n
}

export function readArgs(argv: readonly string[]): CompareArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      vectors: { type: 'string' },
      dim: { type: 'string' },
      samples: { type: 'string' },
      blocks: { type: 'string' },
      clients: { type: 'string' },
      'workload-clients': { type: 'string' },
      duration: { type: 'string' },
      'handshake-blocks': { type: 'string' },
      parts: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) throw new Error(USAGE)
  const quick = values.quick === true
  const int = (name: 'vectors' | 'dim' | 'samples' | 'blocks' | 'clients' | 'duration' | 'handshake-blocks', full: number, fast: number): number => {
    const v = values[name]
    return typeof v === 'string' ? positiveInt(name, v) : quick ? fast : full
  }
  const parts = new Set<Part>()
  for (const p of (values.parts ?? PARTS.join(',')).split(',').filter(Boolean)) {
    if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--parts: unknown part ${JSON.stringify(p)} (known: ${PARTS.join(', ')})`)
    parts.add(p as Part)
  }
  const workloadClients = (values['workload-clients'] ?? '50,200,500').split(',').map((c) => positiveInt('workload-clients', c))
  return {
    vectors: int('vectors', 20_000, 20_000),
    dim: int('dim', 384, 384),
    samples: int('samples', 3000, 600),
    blocks: int('blocks', 10, 6),
    clients: int('clients', 50, 50),
    workloadClients,
    duration: int('duration', 10, 3),
    handshakeBlocks: int('handshake-blocks', 6, 4),
    parts,
    quick,
  }
}
