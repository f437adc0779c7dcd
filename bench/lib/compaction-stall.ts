// How long compaction of one session's store holds the event loop.
//
//   node --expose-gc --import=tsx bench/lib/compaction-stall.ts            # 100 000 x 384
//   node --expose-gc --import=tsx bench/lib/compaction-stall.ts --n=20000  # quicker
//
// Two scenarios on one VectorEngine session (exact search only, so the HNSW
// worker stays out of the picture), vectors as vector_b64, metadata {i}:
//   idle       upload n vectors, then upsert all n again (batches of 1 000,
//              a turn of the event loop between batches): the last batch makes
//              the dead slots reach the live ones, and compaction runs.
//   searching  the same with exact searches (which hold store snapshots)
//              running back to back the whole time, and 4 rounds of upserts:
//              before incremental compaction a store with readers copied only
//              once dead slots reached 4x the live ones, so the last batch of
//              round 4 is the one that compacts (in place or copying).
// Reported: the event-loop delay (monitorEventLoopDelay, 1 ms resolution)
// during the upserts before the last batch, then, after a forced full GC,
// the last upload call and the loop delay from it until 1.5 s later (the
// compaction's window: inside that call before, in slices after it now).
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { VectorEngine } from '../../src/vectors/index.js'
import { clustered } from './data.js'

const DIMS = 384
const BATCH = 1000
const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt
const N = Number(arg('n', '100000'))

function b64(data: Float32Array, i: number): string {
  return Buffer.from(data.buffer, data.byteOffset + i * DIMS * 4, DIMS * 4).toString('base64')
}

type Item = { id: string; vector_b64: string; metadata: { i: number } }

/** Batch b, built when needed: holding all n base64 strings would put ~200 MB on the JS heap, whose major GCs (20-40 ms each) would be measured instead. */
function batch(data: Float32Array, b: number): Item[] {
  return Array.from({ length: Math.min(BATCH, N - b * BATCH) }, (_, k) => {
    const i = b * BATCH + k
    return { id: `v${i}`, vector_b64: b64(data, i), metadata: { i } }
  })
}

async function scenario(name: 'idle' | 'searching', data: Float32Array, query: Float32Array) {
  const batches = Math.ceil(N / BATCH)
  const engine = new VectorEngine({
    limits: { maxBatch: BATCH, maxVectorsPerSession: 1_000_000, maxDims: 4096, maxK: 100, maxMetadataBytes: 10_240 },
    tuning: { exactSearchMaxVectors: Number.MAX_SAFE_INTEGER, hnswM: 16, hnswEfConstruction: 200, hnswEfSearch: 64 },
    maxVectorBytes: 8 * 1024 ** 3,
    logger: pino({ level: 'silent' }),
  })
  const s = engine.createSessionIndex(name)
  for (let b = 0; b < batches; b++) s.upload({ vectors: batch(data, b) })
  global.gc?.()
  await sleep(200)
  let searching = name === 'searching'
  let searches = 0
  const searchLoop = (async () => {
    while (searching) {
      await s.search({ vector_b64: Buffer.from(query.buffer).toString('base64'), k: 10 })
      searches++
    }
  })()
  await sleep(50)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const upload: number[] = []
  const rounds = name === 'searching' ? 4 : 1
  const t0 = performance.now()
  const put = async (b: number): Promise<number> => {
    const vectors = batch(data, b)
    const t = performance.now()
    s.upload({ vectors })
    const ms = performance.now() - t
    upload.push(ms)
    await turn()
    return ms
  }
  for (let r = 0; r < rounds; r++) for (let b = 0; b < batches; b++) if (r < rounds - 1 || b < batches - 1) await put(b)
  const before = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }
  // The last batch makes the dead slots reach the threshold: compaction runs now
  // (inside that call before; in slices after it since the store compacts incrementally).
  global.gc?.()
  await sleep(100)
  loop.reset()
  await sleep(10) // the histogram drops the first interval after a reset
  const last = await put(batches - 1)
  await sleep(1500)
  loop.disable()
  searching = false
  await searchLoop
  const wall = performance.now() - t0
  upload.sort((a, b) => a - b)
  await engine.close()
  return {
    name,
    upserts: rounds * N,
    uploadP50: upload[Math.floor(upload.length / 2)]!,
    before,
    last,
    compaction: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    searches,
    wall,
  }
}

const c = clustered({ count: N, dims: DIMS, seed: 1234 })
const query = c.query()
console.log(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
console.log(`${N.toLocaleString('en-US')} x ${DIMS}, upserts in batches of ${BATCH}`)
console.log('')
console.log('| scenario | upserts | upload p50 ms | loop delay before p99 / max ms | last upload ms | loop delay from last upload p99 / max ms | searches done |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const name of ['idle', 'searching'] as const) {
  const r = await scenario(name, c.data, query)
  const f = (x: number): string => x.toFixed(1)
  console.log(
    `| ${r.name} | ${r.upserts.toLocaleString('en-US')} | ${f(r.uploadP50)} | ${f(r.before.p99)} / ${f(r.before.max)} | ${f(r.last)} | ${f(r.compaction.p99)} / ${f(r.compaction.max)} | ${r.searches} |`,
  )
}
