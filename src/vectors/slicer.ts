// Cooperative slicing for long main-thread loops: work for at most SLICE_MS,
// then give the event loop a turn (setImmediate lets I/O callbacks run first).

export const SLICE_MS = 4

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class Slicer {
  #deadline = performance.now() + SLICE_MS

  /** Call between chunks of work; resolves at once unless the slice is spent. */
  async pause(): Promise<void> {
    if (performance.now() < this.#deadline) return
    await turn()
    this.#deadline = performance.now() + SLICE_MS
  }
}
