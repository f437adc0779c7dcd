// Worker thread for bench/durability.ts: a group of SDK clients, so that the
// client side (JSON, base64, sealing) of 50 concurrent clients can be spread
// over threads. Messages (every reply may instead be {type: 'error', message}):
//   in:  {cmd: 'connect', url, publicKey, clients, prefix}           -> {type: 'ready'}
//        each client opens its own session `${prefix}${i}`
//   in:  {cmd: 'run', op, warmMs, ms, batch, dims}                    -> {type: 'done', ops, errors, latUs, elu, windowMs}
//        closed loop, one request in flight per client; counts the replies
//        that arrive in [warmMs, warmMs + ms) after the start; latUs their
//        round trips (µs); elu this thread's event-loop utilization then
//   in:  {cmd: 'fill-messages', url, publicKey, clients, ids, messages} -> {type: 'filled', ms}
//        the clients share the session ids; per session: openSession, then
//        `messages` appendMessage requests at once (the host journals and
//        applies them in order); the same text as 'run' appends
//   in:  {cmd: 'fill-vectors', url, publicKey, session, vectors, batch, dims, inFlight, seed} -> {type: 'filled', ms}
//   in:  {cmd: 'close'}                                               -> {type: 'closed'}
import { performance } from 'node:perf_hooks'
import { parentPort } from 'node:worker_threads'
import { SessionClient, type UploadVector } from '@rag-session-host/client'
import { clustered } from './data.js'

const port = parentPort
if (!port) throw new Error('durability-worker must run as a worker thread')

type Op = 'append' | 'upload'
const MESSAGE = 'A message of ordinary length: a question or an answer, a sentence or two, as a chat client would store it in its history.'

type In =
  | { cmd: 'connect'; url: string; publicKey: string; clients: number; prefix: string }
  | { cmd: 'run'; op: Op; warmMs: number; ms: number; batch: number; dims: number }
  | { cmd: 'fill-messages'; url: string; publicKey: string; clients: number; ids: string[]; messages: number }
  | { cmd: 'fill-vectors'; url: string; publicKey: string; session: string; vectors: number; batch: number; dims: number; inFlight: number; seed: number }
  | { cmd: 'close' }

let clients: SessionClient[] = []
const connectOpts = (publicKey: string) => ({ hostPublicKey: publicKey, requestTimeoutMs: 300_000 })

port.on('message', (msg: In) => {
  void handle(msg).catch((err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }))
})

async function handle(msg: In): Promise<void> {
  switch (msg.cmd) {
    case 'connect': {
      clients = await Promise.all(Array.from({ length: msg.clients }, () => SessionClient.connect(msg.url, connectOpts(msg.publicKey))))
      await Promise.all(clients.map((c, i) => c.openSession(`${msg.prefix}${i}`)))
      port!.postMessage({ type: 'ready' })
      return
    }
    case 'run':
      port!.postMessage({ type: 'done', ...(await run(msg)) })
      return
    case 'fill-messages': {
      const t0 = performance.now()
      const cs = await Promise.all(Array.from({ length: msg.clients }, () => SessionClient.connect(msg.url, connectOpts(msg.publicKey))))
      let next = 0
      await Promise.all(
        cs.map(async (c) => {
          for (let i = next++; i < msg.ids.length; i = next++) {
            await c.openSession(msg.ids[i]!)
            await Promise.all(Array.from({ length: msg.messages }, (_, k) => c.appendMessage(k % 2 === 0 ? 'user' : 'assistant', MESSAGE)))
          }
          await c.close()
        }),
      )
      port!.postMessage({ type: 'filled', ms: performance.now() - t0 })
      return
    }
    case 'fill-vectors': {
      const t0 = performance.now()
      const { data } = clustered({ count: msg.vectors, dims: msg.dims, seed: msg.seed })
      const c = await SessionClient.connect(msg.url, connectOpts(msg.publicKey))
      await c.openSession(msg.session)
      let next = 0
      await Promise.all(
        Array.from({ length: msg.inFlight }, async () => {
          for (let i = (next += msg.batch) - msg.batch; i < msg.vectors; i = (next += msg.batch) - msg.batch) {
            const items = Array.from({ length: Math.min(msg.batch, msg.vectors - i) }, (_, k) => ({
              id: `v${i + k}`,
              vector: data.subarray((i + k) * msg.dims, (i + k + 1) * msg.dims),
              metadata: { i: i + k },
            }))
            const r = await c.uploadVectors(items)
            if (r.rejected.length > 0) throw new Error(`upload rejected: ${JSON.stringify(r.rejected[0])}`)
          }
        }),
      )
      await c.close()
      port!.postMessage({ type: 'filled', ms: performance.now() - t0 })
      return
    }
    case 'close':
      await Promise.all(clients.map((c) => c.close()))
      clients = []
      port!.postMessage({ type: 'closed' })
      return
  }
}

async function run(msg: Extract<In, { cmd: 'run' }>): Promise<{ ops: number; errors: number; latUs: Float64Array; elu: number; windowMs: number }> {
  // One batch of vectors, encoded once (vector_b64, as the SDK sends them); the ids are new on every request.
  const rows = msg.op === 'upload' ? clustered({ count: msg.batch, dims: msg.dims, seed: 99 }).data : new Float32Array(0)
  const b64 = Array.from({ length: msg.op === 'upload' ? msg.batch : 0 }, (_, k) => Buffer.from(rows.buffer, k * msg.dims * 4, msg.dims * 4).toString('base64'))
  let serial = 0
  const batch = (client: number): UploadVector[] => {
    const n = serial++
    return b64.map((vector_b64, k) => ({ id: `c${client}-${n}-${k}`, vector_b64, metadata: { n, k } }))
  }
  const t0 = performance.now()
  const from = t0 + msg.warmMs
  const to = from + msg.ms
  const lat: number[] = []
  let errors = 0
  let elu0: ReturnType<typeof performance.eventLoopUtilization> | undefined
  let elu1: ReturnType<typeof performance.eventLoopUtilization> | undefined
  const marks = [setTimeout(() => (elu0 = performance.eventLoopUtilization()), msg.warmMs), setTimeout(() => (elu1 = performance.eventLoopUtilization()), msg.warmMs + msg.ms)]
  await Promise.all(
    clients.map(async (c, ci) => {
      while (performance.now() < to) {
        const s = performance.now()
        try {
          if (msg.op === 'append') await c.appendMessage('user', MESSAGE)
          else {
            const r = await c.uploadVectors(batch(ci))
            if (r.rejected.length > 0) throw new Error(`upload rejected: ${JSON.stringify(r.rejected[0])}`)
          }
          const e = performance.now()
          if (e >= from && e < to) lat.push((e - s) * 1000)
        } catch {
          errors++
        }
      }
    }),
  )
  for (const m of marks) clearTimeout(m)
  // The last replies may all be in before the end-of-window timer runs: mark the end now then.
  elu1 ??= performance.eventLoopUtilization()
  const elu = elu0 && elu1 ? performance.eventLoopUtilization(elu1, elu0).utilization : Number.NaN
  return { ops: lat.length, errors, latUs: Float64Array.from(lat), elu, windowMs: msg.ms }
}
