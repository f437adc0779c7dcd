// Ephemeral keys of accepted inits, remembered for the replay window so the
// same init cannot be accepted twice. Bounded: when full of live entries it
// refuses to take more (the caller answers rate_limited) rather than forget
// one early and reopen a replay hole.

export class ReplayCache {
  // Map keeps insertion order, and every entry lives the same window, so the
  // oldest entry is always first: expiry is a walk from the front.
  readonly #expiresAt = new Map<string, number>()

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  has(key: string, now: number): boolean {
    const at = this.#expiresAt.get(key)
    return at !== undefined && at > now
  }

  /** Milliseconds until there is room again; 0 when there is room now. */
  waitForRoom(now: number): number {
    this.sweep(now)
    if (this.#expiresAt.size < this.maxEntries) return 0
    const first = this.#expiresAt.values().next()
    return first.done ? 0 : Math.max(1, first.value - now)
  }

  add(key: string, now: number): void {
    this.#expiresAt.delete(key)
    this.#expiresAt.set(key, now + this.windowMs)
  }

  /** Forgets a claim whose init was refused after all (its journal write failed): it was never accepted. */
  delete(key: string): void {
    this.#expiresAt.delete(key)
  }

  sweep(now: number): number {
    let removed = 0
    for (const [key, at] of this.#expiresAt) {
      if (at > now) break
      this.#expiresAt.delete(key)
      removed++
    }
    return removed
  }

  get size(): number {
    return this.#expiresAt.size
  }
}
