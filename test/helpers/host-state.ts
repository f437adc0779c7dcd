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
 * Gives the host's frame worker one long seal (by default 64 MiB, most of
 * a second of work), so whatever the host hands the worker next waits behind it.
 * Resolves with 'sealed', or with the error if the worker stops first.
 */
export function occupySecretboxWorker(host: TestHost, bytes = 64 * 1024 * 1024): Promise<'sealed' | Error> {
  return host.server.ctx.offload.seal(new Uint8Array(bytes), new Uint8Array(32)).then(
    () => 'sealed' as const,
    (err: Error) => err,
  )
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
