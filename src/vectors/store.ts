// The authoritative vectors of one session, on the main thread: id -> slot
// over a segment of rows (segment.ts), the HNSW labels of the current
// generation (labels.ts), and an incremental compaction (compaction.ts).
//
// Slots are append-only. An upsert kills the old slot and appends a new one; a
// death is stamped with the mutation's epoch instead of erasing anything. So a
// view (arrays + end + epoch) stays a consistent snapshot while a sliced scan
// or a worker round trip is in progress, without copying and without blocking
// writers. Growth and compaction allocate new arrays, which old views keep.
//
// While a compaction copies, the current segment stays authoritative
// (mutations, views and labels all use it, untouched); when the copy has
// caught up, one assignment swaps it in.
import { Compaction, COMPACT_STEP_ROWS, compactionDue, runInSlices } from './compaction.js'
import type { PointRows } from './hnsw-protocol.js'
import type { LabelView } from './labels.js'
import { Segment } from './segment.js'
import type { Metadata } from './types.js'

export type { LabelView } from './labels.js'

/** A snapshot: a slot is visible when slot < end and diedAt[slot] > epoch. */
export interface StoreView {
  readonly dims: number
  readonly end: number
  readonly epoch: number
  readonly count: number
  /** Row `slot` is chunks[slot >> CHUNK_SHIFT] at (slot & CHUNK_MASK) * dims (segment.ts). */
  readonly chunks: readonly Float32Array[]
  readonly diedAt: Float64Array
  readonly ids: readonly string[]
  readonly meta: readonly Metadata[]
  readonly labels: LabelView | null
  /** Slots below this have no row in `chunks`: `graph` holds them, under slotLabel[slot] (released-rows.ts). */
  readonly released: number
  readonly slotLabel: Int32Array
  readonly graph: RowReader | null
}

/** Reads rows back from the graph that holds the only copy of released rows. */
export interface RowReader {
  points(labels: Uint32Array): Promise<PointRows>
}

/** What a compaction does now: none, or a copy under way. */
export interface CompactionState {
  readonly running: boolean
  /** Slots of the current segment handled so far, and how many it has. */
  readonly cursor: number
  readonly end: number
}

export class VectorStore {
  #seg: Segment | null = null
  /**
   * id -> slot * 2 + side. `side` is #side for a slot of the current segment;
   * the other value for a slot of the compaction target (the row was copied
   * there). The swap flips #side, so no entry needs rewriting then.
   */
  readonly #slotOf = new Map<string, number>()
  #side = 0
  #dead = 0
  #epoch = 0
  #deadLabels: number[] = []
  #compaction: Compaction | null = null
  /** After a failed compaction: don't try again before this many dead slots. */
  #retryAtDead = 0
  /** The graph holding the released rows, and the label below which it holds every live row. */
  #reader: RowReader | null = null
  #releaseBelow = 0

  get count(): number {
    return this.#slotOf.size
  }

  /** Fixed by the first vector while the store is empty; null when empty. */
  get dims(): number | null {
    return this.#seg?.dims ?? null
  }

  get bytes(): number {
    return this.count * (this.#seg?.dims ?? 0) * 4
  }

  /** Dead slots of the current segment (awaiting compaction). */
  get dead(): number {
    return this.#dead
  }

  has(id: string): boolean {
    return this.#slotOf.has(id)
  }

  /** Opens a mutation: deaths from now on are invisible to earlier views. */
  begin(): void {
    this.#epoch++
  }

  /**
   * Makes room for `more` appends of `dims` values before anything changes, so
   * an allocation failure leaves the store untouched.
   */
  reserve(dims: number, more: number): void {
    const seg = this.#seg
    if (!seg) {
      const fresh = new Segment(dims, Math.max(64, more))
      fresh.reserve(more)
      this.#seg = fresh
      return
    }
    if (seg.dims !== dims) throw new Error('dimension differs from the store')
    seg.reserve(more)
  }

  /** Upsert; the caller has checked dims and reserved room. */
  put(id: string, unit: Float32Array, meta: Metadata): void {
    const old = this.#slotOf.get(id)
    if (old !== undefined) this.#kill(old)
    const slot = this.#seg!.append(id, unit, meta)
    this.#slotOf.set(id, slot * 2 + this.#side)
  }

  remove(id: string): boolean {
    const at = this.#slotOf.get(id)
    if (at === undefined) return false
    this.#kill(at)
    this.#slotOf.delete(id)
    if (this.#slotOf.size === 0) this.#reset()
    return true
  }

  clear(): number {
    const n = this.count
    if (this.#seg) this.#reset()
    return n
  }

  view(): StoreView {
    const seg = this.#seg
    if (!seg) return EMPTY_VIEW
    return {
      dims: seg.dims,
      end: seg.end,
      epoch: this.#epoch,
      count: this.count,
      chunks: seg.chunks,
      diedAt: seg.diedAt,
      ids: seg.ids,
      meta: seg.meta,
      labels: seg.labels?.view() ?? null,
      released: seg.released,
      slotLabel: seg.slotLabel,
      graph: seg.released > 0 ? this.#reader : null,
    }
  }

  // ---- the single copy ----

  /** Slots whose rows live in the graph only. */
  get released(): number {
    return this.#seg?.released ?? 0
  }

  /**
   * The graph of the current generation holds every live vector labelled
   * below `label` (its watermark): the rows of those slots can go. Labels
   * are issued in slot order, so they are a prefix of the slots. Waits while
   * a compaction copies (it reads the rows it copies), and runs at its swap.
   */
  release(label: number, reader: RowReader): void {
    this.#reader = reader
    if (label > this.#releaseBelow) this.#releaseBelow = label
    if (!this.#compaction) this.#applyRelease()
  }

  #applyRelease(): void {
    const seg = this.#seg
    if (!seg || !seg.labels || this.#reader === null) return
    const below = this.#releaseBelow
    let slot = seg.released
    // A labelled slot goes when its label is below; an unlabelled one only if dead (nothing reads it).
    while (slot < seg.end) {
      const label = seg.slotLabel[slot]!
      if (label >= 0 ? label >= below : seg.isLive(slot)) break
      slot++
    }
    seg.release(slot)
  }

  // ---- labels for the HNSW index ----

  /** Gives every live vector a fresh label 0..count-1 (a new index generation). */
  startLabels(gen: number): void {
    const seg = this.#seg
    if (!seg) throw new Error('empty store has no labels')
    if (seg.released > 0) throw new Error('the graph holds released rows: its labels must stay')
    seg.labelLive(gen, this.count)
    this.#deadLabels = []
    this.#compaction?.relabel()
  }

  dropLabels(): void {
    if (this.released > 0) throw new Error('the graph holds released rows: its labels must stay')
    this.#seg?.dropLabels()
    this.#compaction?.dropLabels()
    this.#deadLabels = []
  }

  get labelGen(): number | null {
    return this.#seg?.labels?.gen ?? null
  }

  get labelNext(): number {
    return this.#seg?.labels?.next ?? 0
  }

  /** The live slot holding `label`, or -1. */
  liveSlotOf(label: number): number {
    const seg = this.#seg
    const slot = seg?.labels?.slotOf(label) ?? -1
    return slot >= 0 && seg!.isLive(slot) ? slot : -1
  }

  /** Copies the unit vector of a live slot into `out` at `offset`. */
  copyRow(slot: number, out: Float32Array, offset: number): void {
    out.set(this.#seg!.row(slot), offset)
  }

  /** Labels whose vectors died since the last call (deleted or replaced). */
  takeDeadLabels(): number[] {
    const out = this.#deadLabels
    this.#deadLabels = []
    return out
  }

  // ---- compaction ----

  /**
   * Starts a compaction when it is due (compaction.ts). It runs on later
   * turns of the event loop, SLICE_MS at a time; nothing changes for views or
   * mutations until it swaps. Returns true when it started one.
   */
  maybeCompact(): boolean {
    const seg = this.#seg
    if (!seg || this.#compaction || !compactionDue(this.#dead, this.count, this.#retryAtDead)) return false
    const c = new Compaction(seg, this.count)
    this.#compaction = c
    runInSlices(
      () => this.#compaction === c, // not finished by compactStep, not cancelled by a reset
      () => this.compactStep(COMPACT_STEP_ROWS),
    )
    return true
  }

  get compaction(): CompactionState {
    const c = this.#compaction
    return c ? { running: true, cursor: c.cursor, end: c.from.end } : { running: false, cursor: 0, end: 0 }
  }

  /**
   * Advances the compaction in progress by at most `rows` slots, now
   * (synchronously). Returns true once no compaction is in progress. The
   * scheduled slices call it; tests call it to interleave mutations precisely.
   */
  compactStep(rows: number): boolean {
    const c = this.#compaction
    if (!c) return true
    const copied = this.#side ^ 1
    try {
      if (!c.copy(rows, (id, slot) => this.#slotOf.set(id, slot * 2 + copied))) return false
      this.#swap(c)
    } catch {
      // Most likely an allocation failure: keep the current segment, which is
      // intact, and don't try again before the dead slots have doubled.
      this.#abort(c)
    }
    return true
  }

  // ---- internals ----

  #kill(at: number): void {
    const seg = this.#seg!
    let slot = at >> 1
    // A row the compaction in progress copied dies in the copy too.
    if ((at & 1) !== this.#side) slot = this.#compaction!.kill(slot, this.#epoch)
    seg.diedAt[slot] = this.#epoch
    this.#dead++
    const label = seg.slotLabel[slot]!
    // toSlot keeps the entry: older views may still need it; liveness is diedAt's.
    if (label >= 0 && seg.labels) this.#deadLabels.push(label)
  }

  #reset(): void {
    this.#seg = null
    this.#reader = null
    this.#releaseBelow = 0
    this.#slotOf.clear()
    this.#dead = 0
    this.#deadLabels = []
    this.#compaction = null
    this.#retryAtDead = 0
  }

  /** The copy holds every live row: it becomes the store's segment. */
  #swap(c: Compaction): void {
    this.#seg = c.result()
    this.#side ^= 1
    this.#dead = c.dead
    this.#compaction = null
    this.#retryAtDead = 0
    // Frees the chunks of the rows the copy left released, and catches up with releases that waited.
    this.#seg.release(this.#seg.released)
    this.#applyRelease()
  }

  #abort(c: Compaction): void {
    const side = this.#side
    const copied = side ^ 1
    c.forEachCopied((id, slot, fromSlot) => {
      if (this.#slotOf.get(id) === slot * 2 + copied) this.#slotOf.set(id, fromSlot * 2 + side)
    })
    this.#compaction = null
    this.#retryAtDead = 2 * this.#dead
    this.#applyRelease()
  }
}

const EMPTY_VIEW: StoreView = {
  dims: 0,
  end: 0,
  epoch: 0,
  count: 0,
  chunks: [],
  diedAt: new Float64Array(0),
  ids: [],
  meta: [],
  labels: null,
  released: 0,
  slotLabel: new Int32Array(0),
  graph: null,
}

export function isAlive(view: StoreView, slot: number): boolean {
  return view.diedAt[slot]! > view.epoch
}
