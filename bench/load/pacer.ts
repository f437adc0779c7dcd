// --rate: one schedule shared by all clients, a request slot every 1000/rate ms.
// A client takes the next slot and waits for it; slots missed while the
// process was busy are dropped, not sent later in a burst. Infinity: no pacing.
import { setTimeout as sleep } from 'node:timers/promises'

export class Pacer {
  readonly #interval: number
  #next = performance.now()

  constructor(rate: number) {
    this.#interval = Number.isFinite(rate) ? 1000 / rate : 0
  }

  async take(): Promise<void> {
    if (this.#interval === 0) return
    const now = performance.now()
    const at = Math.max(this.#next, now)
    this.#next = at + this.#interval
    if (at - now >= 1) await sleep(at - now)
  }
}
