// Worker thread that owns every HNSW graph (hnswlib-node). It adds points in
// short slices and yields between them, so searches queued behind a long build
// are answered within one slice. Labels are chosen by the main thread and never
// reused within an index, so a label always names one stored version.
import { constants, setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import hnswlib from 'hnswlib-node'
import type { FromWorker, ToWorker } from './hnsw-protocol.js'

const port = parentPort
if (!port) throw new Error('hnsw-worker must run as a worker thread')

// Building graphs is background work. On Linux a thread's nice value is its
// own, so this lowers only this thread: when cores are scarce, the event loop
// and the crypto worker run first and the build takes the time that is left.
try {
  setPriority(constants.priority.PRIORITY_BELOW_NORMAL)
} catch {
  // Not permitted here: build at normal priority.
}

/** How long one slice of index work may hold this thread before messages are read. */
const SLICE_MS = 4
/** Rebuild once tombstones outnumber live points (and are many): they slow every search. */
const REBUILD_MIN_TOMBSTONES = 1024
const SEED = 100

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

interface Idx {
  key: number
  dims: number
  m: number
  efConstruction: number
  index: hnswlib.HierarchicalNSW
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

const indexes = new Map<number, Idx>()
let scheduled = false

function send(msg: FromWorker): void {
  port!.postMessage(msg)
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

function hasWork(x: Idx): boolean {
  return x.queue.length > 0 || x.rebuild !== null
}

/** One unit of work on one index: add a queued point, or copy one into a rebuild. */
function step(x: Idx): void {
  const batch = x.queue[0]
  if (batch) {
    const i = batch.pos++
    if (batch.pos >= batch.labels.length) x.queue.shift()
    const label = batch.labels[i]!
    x.upTo = label + 1
    x.dirty = true
    if (x.skip.delete(label)) return
    ensureRoom(x.index)
    x.index.addPoint(Array.from(batch.vectors.subarray(i * x.dims, (i + 1) * x.dims)), label)
    x.live.add(label)
    x.rebuild?.toCopy.push(label)
    return
  }
  const r = x.rebuild
  if (!r) return
  const label = r.toCopy[r.pos++]
  if (label !== undefined && x.live.has(label)) {
    ensureRoom(r.next)
    r.next.addPoint(x.index.getPoint(label), label)
  }
  if (r.pos >= r.toCopy.length) {
    release(x.index)
    x.index = r.next
    x.tombstones = r.tombstones
    x.rebuild = null
    x.dirty = true
    send({ op: 'rebuilt', key: x.key, size: x.live.size, ms: Math.round(performance.now() - r.started) })
  }
}

function maybeRebuild(x: Idx): void {
  if (x.rebuild || x.tombstones < REBUILD_MIN_TOMBSTONES || x.tombstones <= x.live.size) return
  x.rebuild = {
    next: newGraph(x.dims, x.live.size + 1024, x.m, x.efConstruction),
    toCopy: [...x.live],
    pos: 0,
    tombstones: 0,
    started: performance.now(),
  }
}

function fail(x: Idx, err: unknown): void {
  indexes.delete(x.key)
  release(x.index)
  if (x.rebuild) release(x.rebuild.next)
  send({ op: 'failed', key: x.key, message: err instanceof Error ? err.message : 'hnsw error' })
}

function tick(): void {
  scheduled = false
  const end = performance.now() + SLICE_MS
  let busy = true
  while (busy && performance.now() < end) {
    busy = false
    // Round robin: one point per index per pass, so one big build can't starve the others.
    for (const x of indexes.values()) {
      if (!hasWork(x)) continue
      try {
        step(x)
      } catch (err) {
        fail(x, err)
        continue
      }
      busy ||= hasWork(x)
    }
  }
  for (const x of indexes.values()) {
    if (!x.dirty) continue
    x.dirty = false
    send({ op: 'progress', key: x.key, upTo: x.upTo, size: x.live.size })
  }
  if (busy) schedule()
}

function schedule(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(tick)
}

function handle(msg: ToWorker): void {
  switch (msg.op) {
    case 'init': {
      const old = indexes.get(msg.key)
      if (old) release(old.index)
      indexes.set(msg.key, {
        key: msg.key,
        dims: msg.dims,
        m: msg.m,
        efConstruction: msg.efConstruction,
        index: newGraph(msg.dims, msg.capacity, msg.m, msg.efConstruction),
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
      const x = indexes.get(msg.key)
      if (!x || msg.labels.length === 0) return
      x.queue.push({ labels: msg.labels, vectors: msg.vectors, pos: 0 })
      schedule()
      return
    }
    case 'del': {
      const x = indexes.get(msg.key)
      if (!x) return
      try {
        for (const label of msg.labels) {
          if (!x.live.delete(label)) {
            if (label >= x.upTo) x.skip.add(label)
            continue
          }
          x.index.markDelete(label)
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
        maybeRebuild(x)
        if (x.rebuild) schedule()
      } catch (err) {
        fail(x, err)
      }
      return
    }
    case 'search': {
      const x = indexes.get(msg.key)
      if (!x) {
        send({ op: 'result', req: msg.req, error: 'no such index' })
        return
      }
      try {
        if (x.live.size === 0) {
          send({ op: 'result', req: msg.req, labels: [] })
          return
        }
        const k = Math.min(msg.k, x.index.getMaxElements())
        x.index.setEf(Math.max(msg.ef, k))
        const found = x.index.searchKnn(Array.from(msg.query), k)
        send({ op: 'result', req: msg.req, labels: found.neighbors })
      } catch (err) {
        send({ op: 'result', req: msg.req, error: err instanceof Error ? err.message : 'search failed' })
      }
      return
    }
    case 'stop':
      // Messages are handled between slices, never inside an addPoint, so
      // exiting here cannot interrupt native code the way terminate() can.
      process.exit(0)
      return
    case 'drop': {
      const x = indexes.get(msg.key)
      if (!x) return
      indexes.delete(msg.key)
      release(x.index)
      if (x.rebuild) release(x.rebuild.next)
      return
    }
  }
}

port.on('message', handle)
