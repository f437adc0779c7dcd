// Worker thread that owns every HNSW graph (hnsw-graphs.ts). It adds points
// in short slices and yields between them, and reads its port between two
// points, so a search during a long build is answered after one addPoint.
import { constants, setPriority } from 'node:os'
import { parentPort, receiveMessageOnPort } from 'node:worker_threads'
import { GraphSet } from './hnsw-graphs.js'
import type { FromWorker, ToWorker } from './hnsw-protocol.js'
import { idleCollector } from '../util/idle-gc.js'

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

const graphs = new GraphSet((msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer))
let scheduled = false
// Building and reading back points makes JS garbage (hnswlib-node takes and gives plain arrays).
const idle = idleCollector()

function handle(msg: ToWorker): void {
  if (msg.op === 'stop') {
    // Messages are handled between slices or between two points, never inside
    // an addPoint, so exiting here cannot interrupt native code the way terminate() can.
    process.exit(0)
  }
  graphs.handle(msg)
}

/** Handles what is waiting on the port now, synchronously (between two points of a slice). */
function poll(): void {
  for (let m = receiveMessageOnPort(port!); m; m = receiveMessageOnPort(port!)) handle(m.message as ToWorker)
}

function tick(): void {
  scheduled = false
  idle.touch()
  if (graphs.work(performance.now() + SLICE_MS, poll)) schedule()
}

function schedule(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(tick)
}

port.on('message', (msg: ToWorker) => {
  idle.touch()
  handle(msg)
  if (graphs.busy) schedule()
})
