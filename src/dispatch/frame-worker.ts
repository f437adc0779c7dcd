// Worker side of FrameOffload: the same inline functions, off the event
// loop; for a large frame also the dispatcher's reading of its plaintext.
import { setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import { preopenFrame } from '../crypto/frame-preopen.js'
import { openBase64, sealBase64 } from '../crypto/secretbox.js'
import type { WorkerReply, WorkerRequest } from './frame-offload.js'
import { preparePlaintext, transferablesOf } from './plaintext.js'
import { idleCollector } from '../util/idle-gc.js'

const port = parentPort
if (!port) throw new Error('frame-worker must run as a worker thread')

/**
 * Large frames are bulk work: when cores are scarce, the event loop (which
 * serves every small request) runs first. On Linux the nice value is per
 * thread, so this lowers only this one: to 5, above the HNSW build (10),
 * whose work waits on what this thread hands over.
 */
const FRAME_WORKER_NICE = 5
try {
  setPriority(FRAME_WORKER_NICE)
} catch {
  // Not permitted here: run at normal priority.
}

// A burst of large frames leaves a big heap behind; it goes once the burst is over.
const idle = idleCollector()

port.on('message', (req: WorkerRequest) => {
  idle.touch()
  let reply: WorkerReply
  try {
    if (req.op === 'open') {
      const open = openBase64(req.ciphertext, req.nonce, req.key)
      reply = { id: req.id, open }
      if (open.ok) {
        port.postMessage(reply, [open.plaintext.buffer as ArrayBuffer])
        return
      }
    } else if (req.op === 'preopen') {
      const limits = req.limits
      const preopened = preopenFrame(req.frame, req.sessionId, req.key, (plaintext) => preparePlaintext(plaintext, limits))
      reply = { id: req.id, preopened }
      if (preopened.kind === 'prepared') {
        port.postMessage(reply, transferablesOf(preopened.prepared))
        return
      }
    } else {
      reply = { id: req.id, sealed: sealBase64(req.plaintext, req.key) }
    }
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.name : 'error' }
  }
  port.postMessage(reply)
})
