// Reading back rows a view has released (store.ts): their only copy is in the
// HNSW graph, so they come from the worker, READ_BATCH at a time, each batch a
// few milliseconds of the worker's time and none of the event loop's. A row
// the graph no longer has died after the view was taken (or its graph went
// with the data, emptied); callers skip it, as they would a later death.
import type { StoreView } from './store.js'

/**
 * Rows read per message. hnswlib-node's getPoint builds a JS array: ~38 µs a
 * row at 384 dims here, so 128 of them hold the worker ~5 ms, and a search
 * of another session waits at most that long behind a read-back.
 */
export const READ_BATCH = 128

/** The released rows of a view cannot be read: its graph is gone (the session was emptied or its graph failed). */
export class RowsUnavailable extends Error {
  constructor(cause: unknown) {
    super(`released rows unavailable: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

export interface ReadRows {
  /** The slots asked for, in order. */
  readonly slots: readonly number[]
  /** Row i of `slots` at i * dims, when found[i] is 1. */
  readonly rows: Float32Array
  readonly found: Uint8Array
}

/** Reads the rows of `slots` (each below view.released) from the view's graph. Throws RowsUnavailable. */
export async function readReleased(view: StoreView, slots: readonly number[]): Promise<ReadRows> {
  const graph = view.graph
  if (!graph) throw new RowsUnavailable('no graph')
  const labels = new Uint32Array(slots.length)
  for (let i = 0; i < slots.length; i++) {
    const label = view.slotLabel[slots[i]!]!
    if (label < 0) throw new RowsUnavailable('the graph lost its labels')
    labels[i] = label
  }
  try {
    const { vectors, found } = await graph.points(labels)
    return { slots, rows: vectors, found }
  } catch (err) {
    throw new RowsUnavailable(err)
  }
}

/**
 * The visible released rows of the view that `keep` accepts, READ_BATCH at a
 * time, in slot order. `keep` sees slots only (liveness is checked here).
 */
export async function* releasedRows(view: StoreView, keep: (slot: number) => boolean = () => true): AsyncGenerator<ReadRows> {
  let batch: number[] = []
  for (let slot = 0; slot < view.released; slot++) {
    if (!(view.diedAt[slot]! > view.epoch) || !keep(slot)) continue
    batch.push(slot)
    if (batch.length === READ_BATCH) {
      yield await readReleased(view, batch)
      batch = []
    }
  }
  if (batch.length > 0) yield await readReleased(view, batch)
}
