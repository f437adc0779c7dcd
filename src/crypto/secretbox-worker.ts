// Worker side of SecretboxOffload: the same inline functions, off the event loop.
import { parentPort } from 'node:worker_threads'
import { preopenFrame } from './frame-preopen.js'
import { openBase64, sealBase64, type WorkerRequest, type WorkerReply } from './secretbox.js'

const port = parentPort
if (!port) throw new Error('secretbox-worker must run as a worker thread')

port.on('message', (req: WorkerRequest) => {
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
      const preopened = preopenFrame(req.frame, req.sessionId, req.key)
      reply = { id: req.id, preopened }
      if (preopened.kind === 'opened') {
        port.postMessage(reply, [preopened.plaintext.buffer as ArrayBuffer])
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
