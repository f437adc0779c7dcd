// A connection kept busy on purpose, so a test can act while the host still
// has frames to answer (a shutdown that drains them, an upgrade during the
// drain), starting on an event (the first search answered) with about half a
// second of work still queued behind it, not after a sleep. Each search's filter compares every
// vector's composite metadata with every member of a long $in list (deep
// equality, ~50 ms a search on this machine, yielding to the event loop every
// 1024 rows so the host still serves other sockets), and frames on one
// connection are served one at a time, in order. Ten searches keep a drain
// busy for well under its 3 s cap.
import type { TestHost } from './host.js'
import { Wire, generateIdentity } from './wire.js'

const VECTORS = 4096
const MEMBERS = 250

export interface BusyWire {
  wire: Wire
  /** Ids of the frames still queued on the host when busyWire resolved (searches, then `then`'s frames), in order. */
  queued: string[]
}

export interface BusyOptions {
  /** Slow searches sent at once; default 10. */
  searches?: number
  sessionId?: string
  /** Frames to send right behind the searches, in the same burst (sealed with `wire.seal`). */
  then?: (wire: Wire) => Record<string, any>[]
}

/**
 * Opens a session, sends slow searches (and `then`'s frames) at once and
 * resolves when the first search is answered: the host, which runs in this
 * process, has had many turns of the event loop to read the rest, and works
 * through them one at a time.
 */
export async function busyWire(host: TestHost, opts: BusyOptions = {}): Promise<BusyWire> {
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: opts.sessionId ?? 'busy', identity: generateIdentity() })
  const vectors = Array.from({ length: VECTORS }, (_, i) => ({ id: `b${i}`, vector: [1, i + 1], metadata: { tag: { n: -1 } } }))
  for (let from = 0; from < VECTORS; from += 1000) {
    const up = await wire.request('uploadVectors', { vectors: vectors.slice(from, from + 1000) })
    if (up.rejected.length > 0) throw new Error('busyWire: upload refused')
  }
  const filter = { tag: { $in: Array.from({ length: MEMBERS }, (_, n) => ({ n })) } }
  const frames = Array.from({ length: opts.searches ?? 10 }, () => wire.seal('searchVectors', { vector: [1, 1], k: 1, filter }))
  frames.push(...(opts.then?.(wire) ?? []))
  for (const f of frames) wire.send(f)
  const first = wire.open(await wire.reply(frames[0]!.id, 30_000))
  if (first.ok !== true) throw new Error(`busyWire: search failed: ${JSON.stringify(first.error)}`)
  return { wire, queued: frames.slice(1).map((f) => f.id as string) }
}
