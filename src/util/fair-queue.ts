// A queue fair across keys (connections), costed by size: start-time fair
// queuing. Each job is stamped start = max(V, the finish of its key's last
// job) and finish = start + cost, where V is the start of the job served
// last; the job with the lowest start goes next (ties: the older). A key with
// a backlog of costly jobs pushes its own stamps far ahead, so a cheap job of
// another key overtakes all of that backlog but the job already taken, while
// keys with equal demand share in proportion to their costs.
interface Job<T> {
  start: number
  seq: number
  value: T
}

interface Lane<T> {
  jobs: Job<T>[]
  /** Finish stamp of the lane's last job pushed. */
  finish: number
}

export class FairQueue<T> {
  readonly #lanes = new Map<string, Lane<T>>()
  #virtual = 0
  #seq = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  push(key: string, cost: number, value: T): void {
    let lane = this.#lanes.get(key)
    if (!lane) {
      lane = { jobs: [], finish: 0 }
      this.#lanes.set(key, lane)
    }
    const start = Math.max(this.#virtual, lane.finish)
    lane.finish = start + Math.max(1, cost)
    lane.jobs.push({ start, seq: this.#seq++, value })
    this.#size++
  }

  /** The next job, or undefined when empty. */
  shift(): T | undefined {
    let best: Lane<T> | undefined
    let bestKey = ''
    for (const [key, lane] of this.#lanes) {
      const head = lane.jobs[0]
      if (!head) continue
      const b = best?.jobs[0]
      if (!b || head.start < b.start || (head.start === b.start && head.seq < b.seq)) {
        best = lane
        bestKey = key
      }
    }
    if (!best) return undefined
    const job = best.jobs.shift()!
    this.#size--
    this.#virtual = job.start
    // An idle lane whose stamps V has caught up with would start at V anyway: forget it.
    if (best.jobs.length === 0 && best.finish <= this.#virtual) this.#lanes.delete(bestKey)
    if (this.#lanes.size > 64 && this.#lanes.size > 4 * this.#size) this.#forgetIdle()
    return job.value
  }

  #forgetIdle(): void {
    for (const [key, lane] of this.#lanes) if (lane.jobs.length === 0 && lane.finish <= this.#virtual) this.#lanes.delete(key)
  }
}
