// One append-only run of slots: unit-length float32 rows packed in
// fixed-size chunks, with id, metadata, death epoch and HNSW label per slot.
// Chunks, not one growable array: growing a 100k x 384 array means a fresh
// 230 MB allocation whose page faults stalled the event loop ~200 ms; a chunk
// is 1.5 MB at 384 dims and nothing is ever copied to grow. Per-slot
// bookkeeping (12 bytes a slot) grows into new arrays, which older snapshots
// keep.
import { LabelMap } from './labels.js'
import type { Metadata } from './types.js'

/** diedAt of a slot nobody killed. */
const ALIVE = Number.POSITIVE_INFINITY
/** Rows per chunk (a power of two: slot >> CHUNK_SHIFT is the chunk). */
export const CHUNK_SHIFT = 10
export const CHUNK_ROWS = 1 << CHUNK_SHIFT
export const CHUNK_MASK = CHUNK_ROWS - 1

/** Stands in for a freed chunk. */
export const RELEASED = new Float32Array(0)

export class Segment {
  readonly dims: number
  capacity: number
  end = 0
  chunks: Float32Array[] = []
  /** The epoch of the mutation that killed a slot, ALIVE until then. */
  diedAt: Float64Array
  /** The slot's label in the current generation, -1 when it has none. */
  slotLabel: Int32Array
  ids: string[] = []
  meta: Metadata[] = []
  labels: LabelMap | null = null
  /**
   * Slots below this hold no row here: their vectors live only in the HNSW
   * graph, under their labels (the single copy, store.ts). Chunks wholly below
   * it are freed.
   */
  released = 0

  constructor(dims: number, capacity: number) {
    this.dims = dims
    this.capacity = capacity
    this.diedAt = new Float64Array(capacity).fill(ALIVE)
    this.slotLabel = new Int32Array(capacity).fill(-1)
  }

  /** Allocates room for `more` appends before anything changes, so a failed allocation changes nothing. */
  reserve(more: number): void {
    const need = this.end + more
    if (need > this.capacity) this.#grow(Math.max(need, Math.ceil(this.capacity * 1.5)))
    const chunks = (need + CHUNK_MASK) >> CHUNK_SHIFT
    while (this.chunks.length < chunks) this.chunks.push(new Float32Array(CHUNK_ROWS * this.dims))
  }

  /** Appends a live row into reserved room; returns its slot. */
  append(id: string, row: Float32Array, meta: Metadata): number {
    const slot = this.end++
    this.chunks[slot >> CHUNK_SHIFT]!.set(row, (slot & CHUNK_MASK) * this.dims)
    this.diedAt[slot] = ALIVE
    this.ids.push(id)
    this.meta.push(meta)
    if (this.labels) this.slotLabel[slot] = this.labels.issue(slot)
    return slot
  }

  /** Appends a live slot whose row is held by the graph only (a compaction copying a released row). */
  appendReleased(id: string, meta: Metadata): number {
    const slot = this.end++
    this.diedAt[slot] = ALIVE
    this.ids.push(id)
    this.meta.push(meta)
    this.released = this.end
    return slot
  }

  /**
   * Lets go of the rows of every slot below `upTo`; the caller has made sure
   * the graph holds them. The chunk list is copied first: views taken before
   * keep the old list, rows and all, for as long as they live.
   */
  release(upTo: number): void {
    if (upTo > this.released) this.released = upTo
    const whole = this.released >> CHUNK_SHIFT
    if (whole === 0 || this.chunks[whole - 1] === RELEASED) return
    this.chunks = this.chunks.slice()
    for (let c = 0; c < whole; c++) this.chunks[c] = RELEASED
  }

  isLive(slot: number): boolean {
    return this.diedAt[slot] === ALIVE
  }

  /** The unit vector of `slot` (a view into its chunk, not a copy). */
  row(slot: number): Float32Array {
    const at = (slot & CHUNK_MASK) * this.dims
    return this.chunks[slot >> CHUNK_SHIFT]!.subarray(at, at + this.dims)
  }

  /** Gives every live row a fresh label 0..live-1, in slot order: a new generation. */
  labelLive(gen: number, live: number): void {
    const toSlot = new Int32Array(Math.max(64, Math.ceil(live * 1.25))).fill(-1)
    this.slotLabel.fill(-1)
    let next = 0
    for (let slot = 0; slot < this.end; slot++) {
      if (this.diedAt[slot] !== ALIVE) continue
      toSlot[next] = slot
      this.slotLabel[slot] = next++
    }
    this.labels = new LabelMap(gen, toSlot, next)
  }

  dropLabels(): void {
    this.labels = null
    this.slotLabel.fill(-1)
  }

  #grow(capacity: number): void {
    const diedAt = new Float64Array(capacity).fill(ALIVE)
    diedAt.set(this.diedAt.subarray(0, this.end))
    const slotLabel = new Int32Array(capacity).fill(-1)
    slotLabel.set(this.slotLabel.subarray(0, this.end))
    this.diedAt = diedAt
    this.slotLabel = slotLabel
    this.capacity = capacity
  }
}
