// npm run bench:load: many SDK clients against one host (in its own process),
// a mixed workload per client, and the host's event-loop delay meanwhile.
// Flags: --clients=50,200  --seconds=5  --dims=384  --rates=max,2000
// A rate of `max` is closed-loop (every client sends its next request as soon
// as the last is answered: saturation); a number paces all clients together to
// that many requests per second in total (open-loop: latency at a given load).
import os from 'node:os'
import { SessionClient } from '@rag-session-host/client'
import { startHostProcess } from './host/spawn.js'

const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt
const CLIENT_COUNTS = arg('clients', '50,200').split(',').map(Number)
const SECONDS = Number(arg('seconds', '5'))
const DIMS = Number(arg('dims', '384'))
const RATES = arg('rates', 'max,2000')
  .split(',')
  .map((r) => (r === 'max' ? Infinity : Number(r)))
const VECTORS_PER_SESSION = 200

// Seeded, so every run sends the same data.
let seed = 42
const rand = (): number => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1
const randomVector = (): Float32Array => Float32Array.from({ length: DIMS }, rand)

type Op = 'appendMessage' | 'searchVectors' | 'getHistory' | 'ping'
const MIX: [Op, number][] = [
  ['appendMessage', 0.4],
  ['searchVectors', 0.3],
  ['getHistory', 0.2],
  ['ping', 0.1],
]
const pick = (): Op => {
  let r = (rand() + 1) / 2
  for (const [op, w] of MIX) if ((r -= w) <= 0) return op
  return 'ping'
}

const pct = (xs: number[], q: number): number => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : NaN)

const rows: string[] = []
for (const n of CLIENT_COUNTS)
  for (const rate of RATES) {
    const host = await startHostProcess({ MAX_SESSIONS: String(n * 2) })
    const clients = await Promise.all(Array.from({ length: n }, () => SessionClient.connect(host.url, { hostPublicKey: host.publicKey })))
    await Promise.all(
      clients.map(async (c, i) => {
        await c.openSession(`load-${i}`)
        await c.uploadVectors(Array.from({ length: VECTORS_PER_SESSION }, (_, j) => ({ id: `v${j}`, vector: randomVector(), metadata: { j } })))
      }),
    )
    await host.reset()
    const lat: Record<Op, number[]> = { appendMessage: [], searchVectors: [], getHistory: [], ping: [] }
    const query = randomVector()
    const end = performance.now() + SECONDS * 1000
    let errors = 0
    // Paced: each client sends one request every `interval` ms, staggered.
    const interval = Number.isFinite(rate) ? (n * 1000) / rate : 0
    await Promise.all(
      clients.map(async (c, ci) => {
        let next = performance.now() + (interval * ci) / n
        while (performance.now() < end) {
          if (interval > 0) {
            const wait = next - performance.now()
            if (wait > 0) await new Promise((r) => setTimeout(r, wait))
            next += interval
          }
          const op = pick()
          const t0 = performance.now()
          try {
            if (op === 'appendMessage') await c.appendMessage('user', 'a message of ordinary length, a sentence or two long.')
            else if (op === 'searchVectors') await c.searchVectors(query, { k: 10 })
            else if (op === 'getHistory') await c.getHistory({ limit: 20 })
            else await c.ping()
            lat[op].push((performance.now() - t0) * 1000)
          } catch {
            errors++
          }
        }
      }),
    )
    const stats = await host.stats()
    await Promise.all(clients.map((c) => c.close()))
    await host.stop()
    const total = Object.values(lat).reduce((s, xs) => s + xs.length, 0)
    for (const xs of Object.values(lat)) xs.sort((a, b) => a - b)
    const cell = (op: Op): string => `${Math.round(pct(lat[op], 0.5))} / ${Math.round(pct(lat[op], 0.99))}`
    rows.push(
      `| ${n} | ${Number.isFinite(rate) ? rate : 'max'} | ${Math.round(total / SECONDS)} | ${errors} | ${cell('appendMessage')} | ${cell('searchVectors')} | ${cell('getHistory')} | ${cell('ping')} | ${stats.eventLoop.p99} / ${stats.eventLoop.max} | ${stats.rssMiB} |`,
    )
  }

const out = [
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${SECONDS} s per row, ${VECTORS_PER_SESSION} vectors × ${DIMS} dims per session; clients and host share the machine's cores.`,
  '',
  '| clients | offered rate | requests / s | errors | append p50 / p99 µs | search k=10 p50 / p99 µs | history p50 / p99 µs | ping p50 / p99 µs | host event-loop delay p99 / max ms | host RSS MiB |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
]
process.stdout.write(out.join('\n') + '\n')
