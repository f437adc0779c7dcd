// Event-loop delay as operators read it: percentiles over the last ten
// seconds or so (a rolling pair of windows), not since the process started.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

const WINDOW_MS = 10_000
const ms = (ns: number): number => Math.round(ns / 1e4) / 100

export interface EventLoopDelay {
  p50_ms: number
  p99_ms: number
  max_ms: number
}

export class EventLoopMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  readonly #timer: NodeJS.Timeout
  #previous: EventLoopDelay = { p50_ms: 0, p99_ms: 0, max_ms: 0 }

  constructor() {
    this.#histogram.enable()
    this.#timer = setInterval(() => {
      this.#previous = this.#read()
      this.#histogram.reset()
    }, WINDOW_MS)
    this.#timer.unref()
  }

  /** The window under way once it has samples enough (a second's worth), else the one before. */
  snapshot(): EventLoopDelay {
    return this.#histogram.count >= 100 ? this.#read() : this.#previous
  }

  close(): void {
    clearInterval(this.#timer)
    this.#histogram.disable()
  }

  #read(): EventLoopDelay {
    const h = this.#histogram
    if (h.count === 0) return { p50_ms: 0, p99_ms: 0, max_ms: 0 }
    return { p50_ms: ms(h.percentile(50)), p99_ms: ms(h.percentile(99)), max_ms: ms(h.max) }
  }
}
