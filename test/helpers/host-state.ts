// Views into a running test host, for the few error paths that can only be
// reached at a moment the test chooses: real parts, nothing replaced.
import { CHUNK_MASK, CHUNK_SHIFT, isAlive } from '../../src/vectors/index.js'
import type { TestHost } from './host.js'

/** Requests of `op` the host has carried out and answered (or is answering): rsh_requests_total. */
export async function requestsCounted(host: TestHost, op: string): Promise<number> {
  const metric = await host.server.ctx.metrics.requests.get()
  return metric.values.filter((v) => v.labels.op === op).reduce((n, v) => n + v.value, 0)
}

/**
 * Gives the host's frame worker long jobs, so that whatever the host hands it
 * next waits behind them: each a frame of `bytes` that is one JSON array of
 * zeros, parsed there at ~25 ms a MB (32 MiB: most of a second) while it costs
 * the main thread only its copy. The worker's queue is fair across
 * connections, so to hold up one connection's next job for longer than two
 * jobs, queue them on its lane (its connection id: connectionIdOf). A parse
 * cannot be interrupted: stopping the worker waits for the one under way.
 * Resolves with 'done', or with the error if the worker stops first.
 */
export function occupyFrameWorker(host: TestHost, bytes = 32 * 1024 * 1024, opts: { jobs?: number; lane?: string } = {}): Promise<'done' | Error> {
  const frame = Buffer.concat([Buffer.from('['), Buffer.alloc(bytes - 2, '0,'), Buffer.from(']')])
  // No trailing comma: [0,0,...,0 ]
  if (frame[bytes - 2] === 0x2c) frame[bytes - 2] = 0x20
  const limits = { maxBatch: 1, maxDims: 1, maxMetadataBytes: 1 }
  const jobs = Array.from({ length: opts.jobs ?? 1 }, () => host.server.ctx.offload.preopen(frame, 'occupied', new Uint8Array(32), limits, opts.lane))
  return Promise.all(jobs).then(
    () => 'done' as const,
    (err: Error) => err,
  )
}

/** The connection id of the host's only connection, from its connection.opened line. */
export function connectionIdOf(host: TestHost): string {
  const opened = host.log.events('connection.opened')
  if (opened.length !== 1) throw new Error(`expected one connection, the host has opened ${opened.length}`)
  return String(opened[0]!.conn_id)
}

export interface SessionState {
  id: string
  seq: number
  owner: string
  createdAt: number
  attempt: number
  status: string
  autoRecovered: boolean
  messages: unknown[]
  /** Live vectors by id: metadata and float32 values, as stored. */
  vectors: Record<string, { metadata: unknown; values: number[] }>
  dims: number | null
}

/** Everything a session holds that must survive a restart, in a form t.same compares (sessions by id). */
export function sessionStates(host: TestHost): SessionState[] {
  const out: SessionState[] = []
  for (const s of host.server.ctx.sessions.values()) {
    const view = s.vectors.view()
    const vectors: SessionState['vectors'] = {}
    for (let slot = 0; slot < view.end; slot++) {
      if (!isAlive(view, slot)) continue
      const chunk = view.chunks[slot >> CHUNK_SHIFT]!
      const at = (slot & CHUNK_MASK) * view.dims
      vectors[view.ids[slot]!] = { metadata: view.meta[slot], values: Array.from(chunk.subarray(at, at + view.dims)) }
    }
    out.push({
      id: s.id,
      seq: s.seq,
      owner: s.owner,
      createdAt: s.createdAt,
      attempt: s.attempt,
      status: s.status,
      autoRecovered: s.autoRecovered,
      messages: s.history.all(),
      vectors,
      dims: view.count > 0 ? view.dims : null,
    })
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1))
}
