// Worker thread for bench/vectors-host.ts: session A's SDK client, so A's
// client-side work (base64, JSON, sealing 2 MB per request) does not run on
// the event loop that times B's searches. Messages:
//   in:  {cmd: 'start', url, publicKey, vectors, batch, dims, seed}  -> out: {type: 'ready'}
//   in:  {cmd: 'go'}    -> out: {type: 'done', uploadMs, batchMs}
//   in:  {cmd: 'info'}  -> out: {type: 'info', vectors}   (then closes)
import { parentPort } from 'node:worker_threads'
import { SessionClient } from '@rag-session-host/client'
import { clustered } from './data.js'

const port = parentPort
if (!port) throw new Error('uploader-worker must run as a worker thread')

interface Start {
  cmd: 'start'
  url: string
  publicKey: string
  vectors: number
  batch: number
  dims: number
  seed: number
}

let client: SessionClient | undefined
let job: Start | undefined
let data: Float32Array | undefined

port.on('message', (msg: Start | { cmd: 'go' | 'info' }) => {
  void handle(msg).catch((err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }))
})

async function handle(msg: Start | { cmd: 'go' | 'info' }): Promise<void> {
  if (msg.cmd === 'start') {
    job = msg
    data = clustered({ count: msg.vectors, dims: msg.dims, seed: msg.seed }).data
    client = await SessionClient.connect(msg.url, { hostPublicKey: msg.publicKey, requestTimeoutMs: 120_000 })
    await client.openSession('bench-a')
    port!.postMessage({ type: 'ready' })
  } else if (msg.cmd === 'go') {
    const { vectors, batch, dims } = job!
    const batchMs: number[] = []
    const t0 = performance.now()
    for (let i = 0; i < vectors; i += batch) {
      const items = Array.from({ length: Math.min(batch, vectors - i) }, (_, k) => ({
        id: `a${i + k}`,
        vector: data!.subarray((i + k) * dims, (i + k + 1) * dims),
        metadata: { i: i + k },
      }))
      const tb = performance.now()
      const r = await client!.uploadVectors(items)
      batchMs.push(performance.now() - tb)
      if (r.rejected.length > 0) throw new Error(`upload rejected: ${JSON.stringify(r.rejected[0])}`)
    }
    port!.postMessage({ type: 'done', uploadMs: performance.now() - t0, batchMs })
  } else {
    const info = await client!.sessionInfo()
    await client!.close()
    port!.postMessage({ type: 'info', vectors: info.vectors })
  }
}
