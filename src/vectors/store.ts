// The authoritative vectors of one session, on the main thread: unit-length
// float32 rows packed in fixed-size chunks, id -> slot, metadata per slot.
// Chunks, not one growable array: growing a 100k x 384 array means a fresh
// 230 MB allocation whose page faults stalled the event loop ~200 ms; a chunk
// is 1.5 MB at 384 dims and nothing is ever copied to grow.
//
// Slots are append-only. An upsert kills the old slot and appends a new one; a
// death is stamped with the mutation's epoch instead of erasing anything. So a
// view (arrays + end + epoch) stays a consistent snapshot while a sliced scan
// or a worker round trip is in progress, without copying and without blocking
// writers. Growth and compaction allocate new arrays, which old views keep.
//
// Compaction is incremental: live rows are copied, a few hundred at a time in
// slices of at most SLICE_MS between turns of the event loop, into a new
// segment that nobody sees until the copy has caught up with the current one;
// then one assignment swaps them. Meanwhile the current segment stays
// authoritative (mutations, views and labels all use it, untouched), and a row
// that dies after it was copied dies in the copy too.
import type { Metadata } from './types.js'
import { SLICE_MS } from './slicer.js'

const ALIVE = Number.POSITIVE_INFINITY
/** Rows per chunk (a power of two: slot >> CHUNK_SHIFT is the chunk). */
export const CHUNK_SHIFT = 10
export const CHUNK_ROWS = 1 << CHUNK_SHIFT
export const CHUNK_MASK = CHUNK_ROWS - 1
/** Compact when dead slots outnumber live ones (and are worth a copy). */
const COMPACT_MIN_DEAD = 1024
/** Slots a compaction step looks at between two looks at the clock (~0.2 ms at 384 dims). */
const COMPACT_STEP_ROWS = 256

/** Labels of the current HNSW generation: label -> slot, -1 when gone. */
export interface LabelView {
  readonly gen: number
  readonly toSlot: Int32Array
  readonly next: number
}

/** A snapshot: a slot is visible when slot < end and diedAt[slot] > epoch. */
export interface StoreView {
  readonly dims: number
  readonly end: number
  readonly epoch: number
  readonly count: number
  /** Row `slot` is chunks[slot >> CHUNK_SHIFT] at (slot & CHUNK_MASK) * dims. */
  readonly chunks: readonly Float32Array[]
  readonly diedAt: Float64Array
  readonly ids: readonly string[]
  readonly meta: readonly Metadata[]
  readonly labels: LabelView | null
}

interface Labels {
  gen: number
  toSlot: Int32Array
  next: number
}

class Segment {
  readonly dims: number
  capacity: number
  end = 0
  chunks: Float32Array[] = []
  diedAt: Float64Array
  slotLabel: Int32Array
  ids: string[] = []
  meta: Metadata[] = []
  labels: Labels | null = null

  constructor(dims: number, capacity: number) {
    this.dims = dims
    this.capacity = capacity
    this.diedAt = new Float64Array(capacity).fill(ALIVE)
    this.slotLabel = new Int32Array(capacity).fill(-1)
  }
}

/** An incremental compaction in progress: `from` is the store's current segment. */
interface Compaction {
  readonly from: Segment
  /** The compacted copy; invisible (no view, no label lookup) until the swap. */
  readonly to: Segment
  /** to-slot -> from-slot. */
  origin: Int32Array
  /** Label -> to-slot for the current generation; null while the store has no labels. */
  toSlot: Int32Array | null
  /** from-slots below this have been copied (if alive) or skipped (if dead). */
  cursor: number
  /** Rows of `to` killed after they were copied. */
  dead: number
}

/** What a compaction does now: none, a copy under way, or nothing to do until more dies. */
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
  #resets = 0
  #deadLabels: number[] = []
  #compaction: Compaction | null = null
  /** After a failed compaction: don't try again before this many dead slots. */
  #retryAtDead = 0

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

  /** Changes whenever the store is emptied (its dimension may change then). */
  get resets(): number {
    return this.#resets
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
      addChunks(fresh, more)
      this.#seg = fresh
      return
    }
    if (seg.dims !== dims) throw new Error('dimension differs from the store')
    const need = seg.end + more
    if (need > seg.capacity) grow(seg, Math.max(need, Math.ceil(seg.capacity * 1.5)))
    addChunks(seg, need)
  }

  /** Upsert; the caller has checked dims and reserved room. */
  put(id: string, unit: Float32Array, meta: Metadata): void {
    const seg = this.#seg!
    const old = this.#slotOf.get(id)
    if (old !== undefined) this.#kill(old)
    const slot = seg.end++
    seg.chunks[slot >> CHUNK_SHIFT]!.set(unit, (slot & CHUNK_MASK) * seg.dims)
    seg.diedAt[slot] = ALIVE
    seg.ids.push(id)
    seg.meta.push(meta)
    this.#slotOf.set(id, slot * 2 + this.#side)
    const labels = seg.labels
    if (labels) {
      if (labels.next >= labels.toSlot.length) {
        const bigger = new Int32Array(Math.max(64, labels.toSlot.length * 2)).fill(-1)
        bigger.set(labels.toSlot)
        labels.toSlot = bigger
      }
      const label = labels.next++
      labels.toSlot[label] = slot
      seg.slotLabel[slot] = label
    }
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
    const l = seg.labels
    return {
      dims: seg.dims,
      end: seg.end,
      epoch: this.#epoch,
      count: this.count,
      chunks: seg.chunks,
      diedAt: seg.diedAt,
      ids: seg.ids,
      meta: seg.meta,
      labels: l ? { gen: l.gen, toSlot: l.toSlot, next: l.next } : null,
    }
  }

  // ---- labels for the HNSW index ----

  /** Gives every live vector a fresh label 0..count-1 (a new index generation). */
  startLabels(gen: number): void {
    const seg = this.#seg
    if (!seg) throw new Error('empty store has no labels')
    const toSlot = new Int32Array(Math.max(64, Math.ceil(this.count * 1.25))).fill(-1)
    seg.slotLabel.fill(-1)
    let next = 0
    for (let slot = 0; slot < seg.end; slot++) {
      if (seg.diedAt[slot] !== ALIVE) continue
      toSlot[next] = slot
      seg.slotLabel[slot] = next++
    }
    seg.labels = { gen, toSlot, next }
    this.#deadLabels = []
    // Rows already copied by a compaction in progress take the labels of their originals.
    const c = this.#compaction
    if (c) {
      c.toSlot = new Int32Array(toSlot.length).fill(-1)
      for (let to = 0; to < c.to.end; to++) {
        const label = seg.slotLabel[c.origin[to]!]!
        c.to.slotLabel[to] = label
        if (label >= 0) c.toSlot[label] = to
      }
    }
  }

  dropLabels(): void {
    if (this.#seg) {
      this.#seg.labels = null
      this.#seg.slotLabel.fill(-1)
    }
    const c = this.#compaction
    if (c) {
      c.toSlot = null
      c.to.slotLabel.fill(-1)
    }
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
    const slot = seg?.labels?.toSlot[label] ?? -1
    return slot >= 0 && seg!.diedAt[slot] === ALIVE ? slot : -1
  }

  /** Copies the unit vector of a live slot into `out` at `offset`. */
  copyRow(slot: number, out: Float32Array, offset: number): void {
    const seg = this.#seg!
    const at = (slot & CHUNK_MASK) * seg.dims
    out.set(seg.chunks[slot >> CHUNK_SHIFT]!.subarray(at, at + seg.dims), offset)
  }

  /** Labels whose vectors died since the last call (deleted or replaced). */
  takeDeadLabels(): number[] {
    const out = this.#deadLabels
    this.#deadLabels = []
    return out
  }

  // ---- compaction ----

  /**
   * Starts a compaction when dead slots outnumber live ones (and are at least
   * COMPACT_MIN_DEAD). It runs on later turns of the event loop, SLICE_MS at a
   * time; nothing changes for views or mutations until it swaps. Returns true
   * when it started one.
   */
  maybeCompact(): boolean {
    const seg = this.#seg
    if (!seg || this.#compaction) return false
    if (this.#dead < COMPACT_MIN_DEAD || this.#dead < this.count || this.#dead < this.#retryAtDead) return false
    const capacity = Math.max(64, Math.ceil(this.count * 1.25))
    const c: Compaction = {
      from: seg,
      to: new Segment(seg.dims, capacity),
      origin: new Int32Array(capacity),
      toSlot: seg.labels ? new Int32Array(seg.labels.toSlot.length).fill(-1) : null,
      cursor: 0,
      dead: 0,
    }
    this.#compaction = c
    this.#schedule(c)
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
    try {
      return this.#copy(c, rows)
    } catch {
      // Most likely an allocation failure: keep the current segment, which is
      // intact, and don't try again before the dead slots have doubled.
      this.#abort(c)
      return true
    }
  }

  // ---- internals ----

  #kill(at: number): void {
    const seg = this.#seg!
    let slot = at >> 1
    if ((at & 1) !== this.#side) {
      // The row was copied by the compaction in progress: it dies in the copy too.
      const c = this.#compaction!
      c.to.diedAt[slot] = this.#epoch
      c.dead++
      slot = c.origin[slot]!
    }
    seg.diedAt[slot] = this.#epoch
    this.#dead++
    const label = seg.slotLabel[slot]!
    // toSlot keeps the entry: older views may still need it; liveness is diedAt's.
    if (label >= 0 && seg.labels) this.#deadLabels.push(label)
  }

  #reset(): void {
    this.#seg = null
    this.#slotOf.clear()
    this.#dead = 0
    this.#deadLabels = []
    this.#compaction = null
    this.#retryAtDead = 0
    this.#resets++
  }

  #schedule(c: Compaction): void {
    // unref: a compaction alone should not keep a process alive.
    setImmediate(() => {
      if (this.#compaction !== c) return // finished by compactStep, cancelled by a reset
      const deadline = performance.now() + SLICE_MS
      do {
        if (this.compactStep(COMPACT_STEP_ROWS)) return
      } while (performance.now() < deadline)
      this.#schedule(c)
    }).unref()
  }

  /** Copies the live rows among the next `rows` slots; swaps when it has caught up. */
  #copy(c: Compaction, rows: number): boolean {
    const from = c.from
    const to = c.to
    const d = from.dims
    const other = this.#side ^ 1
    const stop = Math.min(from.end, c.cursor + rows)
    for (let i = c.cursor; i < stop; i++) {
      if (from.diedAt[i] !== ALIVE) continue
      const slot = to.end
      if (slot >= to.capacity) {
        const capacity = Math.ceil(to.capacity * 1.5)
        grow(to, capacity)
        const origin = new Int32Array(capacity)
        origin.set(c.origin)
        c.origin = origin
      }
      addChunks(to, slot + 1)
      const at = (i & CHUNK_MASK) * d
      to.chunks[slot >> CHUNK_SHIFT]!.set(from.chunks[i >> CHUNK_SHIFT]!.subarray(at, at + d), (slot & CHUNK_MASK) * d)
      const id = from.ids[i]!
      to.ids.push(id)
      to.meta.push(from.meta[i]!)
      to.end++
      c.origin[slot] = i
      const label = from.slotLabel[i]!
      to.slotLabel[slot] = label
      if (label >= 0 && c.toSlot) {
        if (label >= c.toSlot.length) c.toSlot = widen(c.toSlot, Math.max(label + 1, c.toSlot.length * 2))
        c.toSlot[label] = slot
      }
      this.#slotOf.set(id, slot * 2 + other)
    }
    c.cursor = stop
    if (stop < from.end) return false
    this.#swap(c)
    return true
  }

  /** The copy holds every live row: it becomes the store's segment. */
  #swap(c: Compaction): void {
    const { from, to } = c
    const labels = from.labels
    if (labels) {
      let toSlot = c.toSlot ?? new Int32Array(labels.toSlot.length).fill(-1)
      if (toSlot.length < labels.toSlot.length) toSlot = widen(toSlot, labels.toSlot.length)
      to.labels = { gen: labels.gen, toSlot, next: labels.next }
    }
    this.#seg = to
    this.#side ^= 1
    this.#dead = c.dead
    this.#compaction = null
    this.#retryAtDead = 0
  }

  #abort(c: Compaction): void {
    const side = this.#side
    const other = side ^ 1
    for (let slot = 0; slot < c.to.end; slot++) {
      const id = c.to.ids[slot]!
      if (this.#slotOf.get(id) === slot * 2 + other) this.#slotOf.set(id, c.origin[slot]! * 2 + side)
    }
    this.#compaction = null
    this.#retryAtDead = 2 * this.#dead
  }
}

/** Per-slot bookkeeping only (12 bytes a slot); vector rows live in chunks. */
function grow(seg: Segment, capacity: number): void {
  const diedAt = new Float64Array(capacity).fill(ALIVE)
  diedAt.set(seg.diedAt.subarray(0, seg.end))
  const slotLabel = new Int32Array(capacity).fill(-1)
  slotLabel.set(seg.slotLabel.subarray(0, seg.end))
  seg.diedAt = diedAt
  seg.slotLabel = slotLabel
  seg.capacity = capacity
}

function widen(a: Int32Array, length: number): Int32Array {
  const out = new Int32Array(length).fill(-1)
  out.set(a)
  return out
}

/** Allocates the chunks rows below `rows` need. */
function addChunks(seg: Segment, rows: number): void {
  const need = (rows + CHUNK_MASK) >> CHUNK_SHIFT
  while (seg.chunks.length < need) seg.chunks.push(new Float32Array(CHUNK_ROWS * seg.dims))
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
}

export function isAlive(view: StoreView, slot: number): boolean {
  return view.diedAt[slot]! > view.epoch
}
