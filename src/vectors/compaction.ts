// Incremental compaction of a segment: live rows are copied, a few hundred at
// a time, into a new segment that nobody sees until the copy has caught up;
// then the store swaps them in one assignment (store.ts). Meanwhile the
// segment being compacted stays authoritative and untouched, and a row that
// dies after it was copied dies in the copy too. Nothing here waits on
// anything: the store or a test decides when each step runs.
import { LabelMap, widen } from './labels.js'
import { Segment } from './segment.js'
import { SLICE_MS } from './slicer.js'

/** Compact when dead slots outnumber live ones (and are worth a copy). */
export const COMPACT_MIN_DEAD = 1024
/** Slots a compaction step looks at between two looks at the clock (~0.2 ms at 384 dims). */
export const COMPACT_STEP_ROWS = 256

/**
 * True when a compaction is worth starting: dead slots are many, outnumber the
 * live ones, and (after a failed one) have reached `retryAtDead`.
 */
export function compactionDue(dead: number, live: number, retryAtDead: number): boolean {
  return dead >= COMPACT_MIN_DEAD && dead >= live && dead >= retryAtDead
}

export class Compaction {
  readonly from: Segment
  /** The compacted copy; invisible (no view, no label lookup) until the swap. */
  readonly to: Segment
  /** to-slot -> from-slot. */
  origin: Int32Array
  /** Label -> to-slot for the current generation; null while `from` has no labels. */
  toSlot: Int32Array | null
  /** from-slots below this have been copied (if alive) or skipped (if dead). */
  cursor = 0
  /** Rows of `to` killed after they were copied. */
  dead = 0

  /** `live`: rows alive in `from`, to size the copy. */
  constructor(from: Segment, live: number) {
    const capacity = Math.max(64, Math.ceil(live * 1.25))
    this.from = from
    this.to = new Segment(from.dims, capacity)
    this.origin = new Int32Array(capacity)
    this.toSlot = from.labels ? new Int32Array(from.labels.toSlot.length).fill(-1) : null
  }

  /**
   * Copies the live rows among the next `rows` slots of `from`, telling
   * `moved` each id's new slot. Returns true once the copy has caught up with
   * `from`. An allocation failure throws, leaving what was copied consistent.
   */
  copy(rows: number, moved: (id: string, slot: number) => void): boolean {
    const { from, to } = this
    const stop = Math.min(from.end, this.cursor + rows)
    for (let i = this.cursor; i < stop; i++) {
      if (!from.isLive(i)) continue
      to.reserve(1)
      if (to.capacity > this.origin.length) {
        const origin = new Int32Array(to.capacity)
        origin.set(this.origin)
        this.origin = origin
      }
      const id = from.ids[i]!
      const slot = to.end
      // Appended without labels: the copy keeps the labels of the originals.
      // A released row has no data here (the graph holds it): nor will its copy.
      // Releases wait while a compaction runs (store.ts), so these stay a prefix.
      if (i < from.released) to.appendReleased(id, from.meta[i]!)
      else to.append(id, from.row(i), from.meta[i]!)
      this.origin[slot] = i
      const label = from.slotLabel[i]!
      to.slotLabel[slot] = label
      if (label >= 0 && this.toSlot) {
        if (label >= this.toSlot.length) this.toSlot = widen(this.toSlot, Math.max(label + 1, this.toSlot.length * 2))
        this.toSlot[label] = slot
      }
      moved(id, slot)
    }
    this.cursor = stop
    return stop >= from.end
  }

  /** A copied row died at `epoch`: it dies in the copy too. Returns its slot in `from`. */
  kill(slot: number, epoch: number): number {
    this.to.diedAt[slot] = epoch
    this.dead++
    return this.origin[slot]!
  }

  /** `from` was given new labels: the rows copied so far take the labels of their originals. */
  relabel(): void {
    const labels = this.from.labels
    if (!labels) return this.dropLabels()
    const toSlot = new Int32Array(labels.toSlot.length).fill(-1)
    for (let slot = 0; slot < this.to.end; slot++) {
      const label = this.from.slotLabel[this.origin[slot]!]!
      this.to.slotLabel[slot] = label
      if (label >= 0) toSlot[label] = slot
    }
    this.toSlot = toSlot
  }

  dropLabels(): void {
    this.toSlot = null
    this.to.slotLabel.fill(-1)
  }

  /** Every id copied so far, with its slot in the copy and in `from`. */
  forEachCopied(fn: (id: string, slot: number, fromSlot: number) => void): void {
    for (let slot = 0; slot < this.to.end; slot++) fn(this.to.ids[slot]!, slot, this.origin[slot]!)
  }

  /** The finished copy, labelled like `from` (same generation, same next label): the store's next segment. */
  result(): Segment {
    const labels = this.from.labels
    if (labels) {
      let toSlot = this.toSlot ?? new Int32Array(labels.toSlot.length).fill(-1)
      if (toSlot.length < labels.toSlot.length) toSlot = widen(toSlot, labels.toSlot.length)
      this.to.labels = new LabelMap(labels.gen, toSlot, labels.next)
    }
    return this.to
  }
}

/**
 * Runs `step` again and again for at most SLICE_MS per turn of the event
 * loop, until it returns true or `current()` turns false (the work was
 * finished or cancelled from outside). unref: compacting alone should not
 * keep a process alive.
 */
export function runInSlices(current: () => boolean, step: () => boolean): void {
  setImmediate(() => {
    if (!current()) return
    const deadline = performance.now() + SLICE_MS
    do {
      if (step()) return
    } while (performance.now() < deadline)
    runInSlices(current, step)
  }).unref()
}
