// Token bucket: `perSec` requests a second on average, `burst` at once.
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
}
