// HNSW labels of one index generation: label -> slot of the store's current
// segment. A label is issued once per stored version and never reused within
// a generation, so the table only grows; a new generation (hnsw-index.ts)
// starts again from 0 with the live vectors only.

/** Labels as a snapshot sees them: label -> slot, -1 when never given; labels >= next are newer. */
export interface LabelView {
  readonly gen: number
  readonly toSlot: Int32Array
  readonly next: number
}

export class LabelMap {
  readonly gen: number
  toSlot: Int32Array
  next: number

  constructor(gen: number, toSlot: Int32Array, next: number) {
    this.gen = gen
    this.toSlot = toSlot
    this.next = next
  }

  /** Issues the next label, for `slot`. */
  issue(slot: number): number {
    if (this.next >= this.toSlot.length) this.toSlot = widen(this.toSlot, Math.max(64, this.toSlot.length * 2))
    const label = this.next++
    this.toSlot[label] = slot
    return label
  }

  /** The slot holding `label` (alive or not), or -1. */
  slotOf(label: number): number {
    return this.toSlot[label] ?? -1
  }

  view(): LabelView {
    return { gen: this.gen, toSlot: this.toSlot, next: this.next }
  }
}

/** A copy of `a`, `length` long, the new entries -1 ("no slot"). */
export function widen(a: Int32Array, length: number): Int32Array {
  const out = new Int32Array(length).fill(-1)
  out.set(a)
  return out
}
