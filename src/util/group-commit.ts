// The turn-batching of both journals (journal/journal-writer.ts on disk,
// cluster/redis-journal.ts in Redis): what is appended during one turn of the
// event loop is written by one run; while a run is under way the next batch
// gathers, and a run that ends with work left schedules the next.
export class GroupCommit {
  readonly #run: () => Promise<void>
  readonly #more: () => boolean
  #running: Promise<void> | undefined
  #scheduled = false

  /** `run` writes everything pending; `more` says whether something is pending (checked after each run). */
  constructor(run: () => Promise<void>, more: () => boolean) {
    this.#run = run
    this.#more = more
  }

  /** The run under way, if any. */
  get running(): Promise<void> | undefined {
    return this.#running
  }

  /** True while a run is under way or scheduled. */
  get busy(): boolean {
    return this.#scheduled || this.#running !== undefined
  }

  /** Runs at the end of this turn (unless a run is under way: it will pick the work up). */
  schedule(): void {
    if (this.#scheduled || this.#running) return
    this.#scheduled = true
    // setImmediate, not a microtask: everything this turn appends joins the batch.
    setImmediate(() => {
      this.#scheduled = false
      void this.start()
    })
  }

  /** Runs now (or joins the run under way); resolves when it ends. */
  start(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined
      if (this.#more()) this.schedule()
    })
    return this.#running
  }
}
