// Every HNSW graph of the worker (hnswlib-node), as plain code with no thread
// of its own: hnsw-worker.ts feeds it messages and calls work() between
// turns of its event loop; tests drive it directly on the main thread. Points
// are added one at a time, round robin over the indexes, so a caller bounds
// each slice. Labels are chosen by the main thread and never reused within an
// index, so a label always names one stored version.
import hnswlib from 'hnswlib-node'
import type { FromWorker, GraphCommand } from './hnsw-protocol.js'

/** Rebuild once tombstones outnumber live points (and are many): they slow every search. */
export const REBUILD_MIN_TOMBSTONES = 1024
const SEED = 100

export function rebuildDue(tombstones: number, live: number): boolean {
  return tombstones >= REBUILD_MIN_TOMBSTONES && tombstones > live
}

interface Batch {
  labels: Uint32Array
  vectors: Float32Array
  pos: number
}

interface Rebuild {
  next: hnswlib.HierarchicalNSW
  toCopy: number[]
  pos: number
  /** Points deleted from `next` after they were copied. */
  tombstones: number
  started: number
}

interface Graph {
  index: number
  dims: number
  m: number
  efConstruction: number
  hnsw: hnswlib.HierarchicalNSW
  queue: Batch[]
  /** Every label below this that was sent has been handled. */
  upTo: number
  live: Set<number>
  /** Deleted before they were added: skipped when their turn comes. */
  skip: Set<number>
  tombstones: number
  rebuild: Rebuild | null
  dirty: boolean
}

function newGraph(dims: number, capacity: number, m: number, efConstruction: number): hnswlib.HierarchicalNSW {
  // 'ip' on vectors the main thread already normalized: the same ranking as
  // 'cosine' without normalizing every point again.
  const g = new hnswlib.HierarchicalNSW('ip', dims)
  g.initIndex(Math.max(16, capacity), m, efConstruction, SEED)
  return g
}

function ensureRoom(g: hnswlib.HierarchicalNSW): void {
  const max = g.getMaxElements()
  if (g.getCurrentCount() >= max) g.resizeIndex(max * 2)
}

/** Native memory goes at once, not whenever the wrapper is collected. */
function release(g: hnswlib.HierarchicalNSW): void {
  try {
    g.initIndex(1)
  } catch {
    // nothing left to free
  }
}

function hasWork(x: Graph): boolean {
  return x.queue.length > 0 || x.rebuild !== null
}

export class GraphSet {
  readonly #graphs = new Map<number, Graph>()
  readonly #send: (msg: FromWorker, transfer?: ArrayBuffer[]) => void

  constructor(send: (msg: FromWorker, transfer?: ArrayBuffer[]) => void) {
    this.#send = send
  }

  /** True while some index has points to add or a rebuild to finish. */
  get busy(): boolean {
    for (const x of this.#graphs.values()) if (hasWork(x)) return true
    return false
  }

  get size(): number {
    return this.#graphs.size
  }

  handle(msg: GraphCommand): void {
    switch (msg.op) {
      case 'init': {
        const old = this.#graphs.get(msg.index)
        if (old) release(old.hnsw)
        this.#graphs.set(msg.index, {
          index: msg.index,
          dims: msg.dims,
          m: msg.m,
          efConstruction: msg.efConstruction,
          hnsw: newGraph(msg.dims, msg.capacity, msg.m, msg.efConstruction),
          queue: [],
          upTo: 0,
          live: new Set(),
          skip: new Set(),
          tombstones: 0,
          rebuild: null,
          dirty: false,
        })
        return
      }
      case 'add': {
        const x = this.#graphs.get(msg.index)
        if (!x || msg.labels.length === 0) return
        x.queue.push({ labels: msg.labels, vectors: msg.vectors, pos: 0 })
        return
      }
      case 'del': {
        const x = this.#graphs.get(msg.index)
        if (!x) return
        try {
          this.#delete(x, msg.labels)
        } catch (err) {
          this.#fail(x, err)
        }
        return
      }
      case 'search':
        this.#send(this.#search(msg.id, msg.index, msg.query, msg.k, msg.ef))
        return
      case 'points':
        this.#sendPoints(msg.id, msg.index, msg.labels)
        return
      case 'drop': {
        const x = this.#graphs.get(msg.index)
        if (!x) return
        this.#graphs.delete(msg.index)
        release(x.hnsw)
        if (x.rebuild) release(x.rebuild.next)
        return
      }
    }
  }

  /**
   * Adds points (and copies points into rebuilds) until `deadline`
   * (performance.now() time) or until nothing is left, then reports progress
   * of every index that moved. Returns true when work remains. `poll`, called
   * before every point, lets the thread handle messages waiting for it (the
   * worker reads them with receiveMessageOnPort), so a search during a build
   * waits one addPoint (~0.5 ms), not a whole slice.
   */
  work(deadline: number, poll?: () => void): boolean {
    let busy = true
    while (busy && performance.now() < deadline) {
      busy = false
      // Round robin: one point per index per pass, so one big build can't starve the others.
      for (const x of this.#graphs.values()) {
        // Messages that came meanwhile (a search, a delete) are handled between two points, not after the slice.
        poll?.()
        // The poll may have dropped (or replaced) this index.
        if (this.#graphs.get(x.index) !== x || !hasWork(x)) continue
        try {
          this.#step(x)
        } catch (err) {
          this.#fail(x, err)
          continue
        }
        busy ||= hasWork(x)
      }
    }
    for (const x of this.#graphs.values()) {
      if (!x.dirty) continue
      x.dirty = false
      this.#send({ op: 'progress', index: x.index, upTo: x.upTo, size: x.live.size })
    }
    return busy
  }

  #search(id: number, index: number, query: Float32Array, k: number, ef: number): FromWorker {
    const x = this.#graphs.get(index)
    if (!x) return { op: 'result', id, error: 'no such index' }
    try {
      if (x.live.size === 0) return { op: 'result', id, labels: [], scores: [] }
      const n = Math.min(k, x.hnsw.getMaxElements())
      x.hnsw.setEf(Math.max(ef, n))
      const { neighbors, distances } = x.hnsw.searchKnn(Array.from(query), n)
      // 'ip' distance is 1 - dot, computed by hnswlib in float32 (SIMD).
      return { op: 'result', id, labels: neighbors, scores: distances.map((d) => 1 - d) }
    } catch (err) {
      return { op: 'result', id, error: err instanceof Error ? err.message : 'search failed' }
    }
  }

  /** Copies the points of `labels` out of the graph (during a rebuild the old graph still holds every live one). */
  #sendPoints(id: number, index: number, labels: Uint32Array): void {
    const x = this.#graphs.get(index)
    if (!x) {
      this.#send({ op: 'result', id, error: 'no such index' })
      return
    }
    const vectors = new Float32Array(labels.length * x.dims)
    const found = new Uint8Array(labels.length)
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!
      if (!x.live.has(label)) continue
      try {
        vectors.set(x.hnsw.getPoint(label), i * x.dims)
        found[i] = 1
      } catch {
        // not readable: reported as not found
      }
    }
    this.#send({ op: 'points', id, vectors, found }, [vectors.buffer, found.buffer])
  }

  #delete(x: Graph, labels: Uint32Array): void {
    for (const label of labels) {
      if (!x.live.delete(label)) {
        if (label >= x.upTo) x.skip.add(label)
        continue
      }
      x.hnsw.markDelete(label)
      x.tombstones++
      if (x.rebuild) {
        try {
          x.rebuild.next.markDelete(label)
          x.rebuild.tombstones++
        } catch {
          // not copied yet: the copy skips labels that are no longer live
        }
      }
    }
    if (x.rebuild || !rebuildDue(x.tombstones, x.live.size)) return
    x.rebuild = {
      next: newGraph(x.dims, x.live.size + 1024, x.m, x.efConstruction),
      toCopy: [...x.live],
      pos: 0,
      tombstones: 0,
      started: performance.now(),
    }
  }

  /** One unit of work on one index: add a queued point, or copy one into a rebuild. */
  #step(x: Graph): void {
    const batch = x.queue[0]
    if (batch) {
      const i = batch.pos++
      if (batch.pos >= batch.labels.length) x.queue.shift()
      const label = batch.labels[i]!
      x.upTo = label + 1
      x.dirty = true
      if (x.skip.delete(label)) return
      ensureRoom(x.hnsw)
      x.hnsw.addPoint(Array.from(batch.vectors.subarray(i * x.dims, (i + 1) * x.dims)), label)
      x.live.add(label)
      x.rebuild?.toCopy.push(label)
      return
    }
    const r = x.rebuild
    if (!r) return
    const label = r.toCopy[r.pos++]
    if (label !== undefined && x.live.has(label)) {
      ensureRoom(r.next)
      r.next.addPoint(x.hnsw.getPoint(label), label)
    }
    if (r.pos >= r.toCopy.length) {
      release(x.hnsw)
      x.hnsw = r.next
      x.tombstones = r.tombstones
      x.rebuild = null
      x.dirty = true
      this.#send({ op: 'rebuilt', index: x.index, size: x.live.size, ms: Math.round(performance.now() - r.started) })
    }
  }

  #fail(x: Graph, err: unknown): void {
    this.#graphs.delete(x.index)
    release(x.hnsw)
    if (x.rebuild) release(x.rebuild.next)
    this.#send({ op: 'failed', index: x.index, message: err instanceof Error ? err.message : 'hnsw error' })
  }
}
