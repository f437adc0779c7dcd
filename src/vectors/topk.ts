// The k best (score, slot) pairs seen so far: a binary min-heap on typed
// arrays, so the worst kept score is one read away and a scan rejects most rows
// with a single comparison. "Best" is the higher score, then the lower slot
// (the older vector), so what is kept does not depend on the order rows are
// pushed in: an HNSW search merges graph candidates and a tail scan
// (approximate-search.ts) and must keep what an exact scan in slot order keeps.

/** True when (sa, ia) ranks below (sb, ib). */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib)
}

export class TopK {
  readonly k: number
  #size = 0
  readonly #scores: Float64Array
  readonly #slots: Int32Array

  constructor(k: number) {
    this.k = k
    this.#scores = new Float64Array(k)
    this.#slots = new Int32Array(k)
  }

  get size(): number {
    return this.#size
  }

  /** The worst score kept (-Infinity until full): a row below it cannot enter; one equal to it only with a lower slot. */
  get floor(): number {
    return this.#size < this.k ? Number.NEGATIVE_INFINITY : this.#scores[0]!
  }

  push(score: number, slot: number): void {
    const s = this.#scores
    const ids = this.#slots
    if (this.#size < this.k) {
      let i = this.#size++
      while (i > 0) {
        const p = (i - 1) >> 1
        if (!worse(score, slot, s[p]!, ids[p]!)) break
        s[i] = s[p]!
        ids[i] = ids[p]!
        i = p
      }
      s[i] = score
      ids[i] = slot
      return
    }
    if (!worse(s[0]!, ids[0]!, score, slot)) return
    // Replace the root and sift down.
    const n = this.#size
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && worse(s[r]!, ids[r]!, s[l]!, ids[l]!) ? r : l
      if (!worse(s[c]!, ids[c]!, score, slot)) break
      s[i] = s[c]!
      ids[i] = ids[c]!
      i = c
    }
    s[i] = score
    ids[i] = slot
  }

  /** Best first; equal scores keep the lower slot first (older vectors). */
  sorted(): { score: number; slot: number }[] {
    const out: { score: number; slot: number }[] = []
    for (let i = 0; i < this.#size; i++) out.push({ score: this.#scores[i]!, slot: this.#slots[i]! })
    return out.sort((a, b) => b.score - a.score || a.slot - b.slot)
  }
}
