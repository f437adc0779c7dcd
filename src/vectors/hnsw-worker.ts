// Worker thread that owns every HNSW graph (hnsw-graphs.ts). It adds points
// in short slices and yields between them, so searches queued behind a long
// build are answered within one slice.
import { constants, setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import { GraphSet } from './hnsw-graphs.js'
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

const graphs = new GraphSet((msg: FromWorker) => port.postMessage(msg))
let scheduled = false

function tick(): void {
  scheduled = false
  if (graphs.work(performance.now() + SLICE_MS)) schedule()
}

function schedule(): void {
  if (scheduled) return
  scheduled = true
  setImmediate(tick)
}

port.on('message', (msg: ToWorker) => {
  if (msg.op === 'stop') {
    // Messages are handled between slices, never inside an addPoint, so
    // exiting here cannot interrupt native code the way terminate() can.
    process.exit(0)
  }
  graphs.handle(msg)
  if (graphs.busy) schedule()
})
