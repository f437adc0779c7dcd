// A tiny typed event emitter that runs in Node and browsers. Its method names
// are node:events' (on, once, off, removeListener, emit, listenerCount), so
// `events.once(client, 'reconnected')` works on it as on an EventEmitter.

type Listener<A extends unknown[]> = (...args: A) => void
// Stored untyped: the map holds every event's listeners; the methods keep the types.
type AnyListener = (...args: unknown[]) => void

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, AnyListener[]>()

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event) ?? []
    list.push(listener as unknown as AnyListener)
    this.#listeners.set(event, list)
    return this
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper = (...args: Events[K]): void => {
      this.off(event, wrapper)
      listener(...args)
    }
    ;(wrapper as { listener?: unknown }).listener = listener
    return this.on(event, wrapper)
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event)
    if (!list) return this
    const i = list.findIndex((l) => (l as unknown) === listener || (l as { listener?: unknown }).listener === listener)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.#listeners.delete(event)
    return this
  }

  /** The arguments of the next `event`, as a promise (what `events.once` gives for an EventEmitter). */
  next<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(event, (...args: Events[K]) => resolve(args)))
  }

  removeListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.off(event, listener)
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0
  }

  /** Calls the listeners in order; a listener that throws does not stop the others (it is rethrown asynchronously). */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.#listeners.get(event)
    if (!list) return false
    for (const l of [...list]) {
      try {
        l(...(args as unknown[]))
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
    return true
  }
}
