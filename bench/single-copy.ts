// What the single copy costs where it reads rows back (docs/VECTORS.md, "One
// copy of each vector"): two engines in this process, one keeping both copies
// and one whose graph holds the only copy, load the same --vectors clustered
// vectors and, once both graphs are built and the rows released, answer the
// same searches alternately: unfiltered (the graph, no read-back), with a
// selective filter (the exact path: released rows read back from the worker),
// and a full snapshot's records (every row read back).
//
//   npx tsx --conditions=rsh-source bench/single-copy.ts --vectors=20000
//
// Flags: --vectors=20000  --dims=384  --searches=200  --rare=50 (one row in N matches the filter)
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { sessionRecords } from '../src/journal/snapshot-writer.js'
import { VectorEngine, type SessionVectors } from '../src/vectors/index.js'
import { clustered } from './lib/data.js'
import { flagValue } from './lib/cli.js'
import { summarize } from './lib/stats.js'

const VECTORS = Number(flagValue('vectors', '20000'))
const DIMS = Number(flagValue('dims', '384'))
const SEARCHES = Number(flagValue('searches', '200'))
const RARE = Number(flagValue('rare', '50'))

function engine(singleCopy: boolean): VectorEngine {
  return new VectorEngine({
    limits: { maxBatch: 1000, maxVectorsPerSession: 10_000_000, maxDims: 4096, maxK: 100, maxMetadataBytes: 10_240 },
    tuning: { exactSearchMaxVectors: 1000, hnswM: 16, hnswEfConstruction: 200, hnswEfSearch: 64 },
    maxVectorBytes: 2 ** 50,
    logger: pino({ level: 'warn' }),
    singleCopy,
  })
}

const data = clustered({ count: VECTORS, dims: DIMS, seed: 3 })
const engines = { two: engine(false), one: engine(true) }
const sessions: Record<'two' | 'one', SessionVectors> = { two: engines.two.createSessionIndex('two'), one: engines.one.createSessionIndex('one') }
for (const s of Object.values(sessions)) {
  for (let i = 0; i < VECTORS; i += 1000) {
    const n = Math.min(1000, VECTORS - i)
    s.upload({
      vectors: Array.from({ length: n }, (_, j) => ({
        id: `v${i + j}`,
        vector: Array.from(data.data.subarray((i + j) * DIMS, (i + j + 1) * DIMS)),
        metadata: { tag: (i + j) % RARE === 0 ? 'rare' : 'common' },
      })),
    })
  }
}
while (sessions.one.indexState !== 'ready' || sessions.two.indexState !== 'ready' || sessions.one.view().released < VECTORS - 1024) await sleep(100)

const queries = Array.from({ length: 64 }, () => Array.from(data.query()))
const times = {
  two: { plain: [] as number[], filtered: [] as number[], snapshot: [] as number[] },
  one: { plain: [] as number[], filtered: [] as number[], snapshot: [] as number[] },
}
for (let i = 0; i < SEARCHES; i++) {
  for (const which of i % 2 === 0 ? (['two', 'one'] as const) : (['one', 'two'] as const)) {
    const q = queries[i % queries.length]!
    let t0 = performance.now()
    await sessions[which].search({ vector: q, k: 10 })
    times[which].plain.push((performance.now() - t0) * 1000)
    t0 = performance.now()
    await sessions[which].search({ vector: q, k: 10, filter: { tag: 'rare' } })
    times[which].filtered.push((performance.now() - t0) * 1000)
  }
}
const head = { t: 'session', s: 'x', seq: 1, owner: 'o', createdAt: 0, attempt: 1, status: 'active', autoRecovered: false, statusSince: 0, lastActiveAt: 0 } as const
for (let i = 0; i < 6; i++) {
  for (const which of i % 2 === 0 ? (['two', 'one'] as const) : (['one', 'two'] as const)) {
    const t0 = performance.now()
    let rows = 0
    for await (const r of sessionRecords({ head, messages: [], view: sessions[which].view() })) if (r.t === 'vectors') rows += r.ids.length
    if (rows !== VECTORS) throw new Error(`snapshot of ${which} has ${rows} rows`)
    times[which].snapshot.push((performance.now() - t0) * 1000)
  }
}
console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 16)} UTC`)
console.log(`${VECTORS} × ${DIMS} clustered vectors, filter matching 1 in ${RARE} (${Math.ceil(VECTORS / RARE)} rows); ${SEARCHES} searches of each kind per engine, alternating`)
console.log('| | two copies p50 / p99 µs | one copy p50 / p99 µs | one / two, p50 |\n| --- | ---: | ---: | ---: |')
for (const kind of ['plain', 'filtered', 'snapshot'] as const) {
  const a = summarize(times.two[kind])
  const b = summarize(times.one[kind])
  const label = { plain: 'search k=10 (graph)', filtered: 'search k=10, selective filter (exact)', snapshot: 'snapshot records, every row' }[kind]
  console.log(`| ${label} | ${a.p50.toFixed(0)} / ${a.p99.toFixed(0)} | ${b.p50.toFixed(0)} / ${b.p99.toFixed(0)} | ${(b.p50 / a.p50).toFixed(2)}× |`)
}
await Promise.all([engines.one.close(), engines.two.close()])
