// Token buckets: one for a connection's requests, one per client address for
// session inits.

/** `perSec` requests a second on average, `burst` at once. */
export class TokenBucket {
  #tokens: number
  #last: number

  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst
    this.#last = now
  }

  /** Takes one token; returns 0 when allowed, else milliseconds until one is free. */
  take(now: number): number {
    if (this.perSec <= 0) return 0
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.perSec) / 1000)
    this.#last = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.perSec)
  }

  /** Would it hold `burst` tokens by `now`? */
  full(now: number): boolean {
    return this.#tokens + ((now - this.#last) * this.perSec) / 1000 >= this.burst
  }
}

/**
 * One token bucket per key (a client address): `perMinute` on average, a
 * minute's worth at once. Full buckets are forgotten by sweep(), so the map
 * holds only addresses seen lately.
 */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>()
  readonly #perSec: number
  readonly #burst: number

  constructor(perMinute: number) {
    this.#perSec = perMinute / 60
    this.#burst = perMinute
  }

  /** Takes one token for `key`; 0 when allowed, else milliseconds until one is free. */
  take(key: string, now: number): number {
    if (this.#burst <= 0) return 0
    let bucket = this.#buckets.get(key)
    if (!bucket) this.#buckets.set(key, (bucket = new TokenBucket(this.#perSec, this.#burst, now)))
    return bucket.take(now)
  }

  /** Forgets buckets that have refilled (they would start full again anyway). */
  sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key)
  }

  get size(): number {
    return this.#buckets.size
  }
}
