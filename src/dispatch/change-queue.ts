// Changes to one session, one at a time: a change is checked against the
// state, journaled, then applied, and the next change of that session is
// checked only after it, so the journal's order is the order of application.
// Different sessions never wait for each other. With nothing queued and a
// synchronous change (PERSIST=off) the change runs at once, no promise made.
export class ChangeQueue {
  readonly #tails = new Map<string, Promise<void>>()

  run<T>(key: string, fn: () => T | Promise<T>): T | Promise<T> {
    const tail = this.#tails.get(key)
    if (tail === undefined) {
      const result = fn()
      if (result instanceof Promise) this.#track(key, result)
      return result
    }
    const next = tail.then(fn)
    this.#track(key, next)
    return next
  }

  #track(key: string, p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    )
    this.#tails.set(key, settled)
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key)
    })
  }
}
