// Vector index benchmark: our exact path, our HNSW path (hnswlib-node built in
// the worker), and a naive JavaScript loop over number arrays, side by side on
// the same clustered 384-dim data (seeded, so runs repeat).
//
//   npm run bench:vectors                       # sizes 1000,10000,100000
//   npm run bench:vectors -- --sizes=1000,10000 # quicker
//
// Prints one markdown table; docs/BENCHMARKS.md holds a copy of a run.
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import hnswlib from 'hnswlib-node'
import { pino } from 'pino'
import { VectorEngine, type SessionVectors } from '../src/vectors/index.js'
import { clustered, row } from './lib/data.js'
import { median, recall, summarize } from './lib/stats.js'

const DIMS = 384
const K = 10
const BATCH = 1000
const TUNING = { hnswM: 16, hnswEfConstruction: 200, hnswEfSearch: 64 } // the config defaults

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]))
const sizes = (args.get('sizes') ?? '1000,10000,100000').split(',').map(Number)

interface Row {
  engine: string
  n: number
  uploadPerSec: number
  p50: number
  p99: number
  recall: number
  note: string
}

function queriesFor(n: number): number {
  return n >= 100_000 ? 100 : 300
}
function runsFor(n: number): number {
  return n >= 100_000 ? 1 : 3
}

function engine(exactSearchMaxVectors: number): VectorEngine {
  return new VectorEngine({
    limits: { maxBatch: BATCH, maxVectorsPerSession: 1_000_000, maxDims: 4096, maxK: 100, maxMetadataBytes: 10_240 },
    tuning: { exactSearchMaxVectors, ...TUNING },
    maxVectorBytes: 4 * 1024 ** 3,
    logger: pino({ level: 'silent' }),
  })
}

/** Items as the request layer hands them over: plain number arrays from JSON. */
function items(data: Float32Array, n: number) {
  return Array.from({ length: n }, (_, i) => ({ id: `v${i}`, vector: row(data, DIMS, i), metadata: { i } }))
}

function upload(s: SessionVectors, all: ReturnType<typeof items>): number {
  const t0 = performance.now()
  for (let b = 0; b < all.length; b += BATCH) s.upload({ vectors: all.slice(b, b + BATCH) })
  return performance.now() - t0
}

async function timeSearches(queries: number[][], search: (q: number[]) => Promise<string[]> | string[]): Promise<{ us: number[]; ids: string[][] }> {
  for (const q of queries.slice(0, 20)) await search(q) // warm the JIT up
  const us: number[] = []
  const ids: string[][] = []
  for (const q of queries) {
    const t0 = performance.now()
    const r = await search(q)
    us.push((performance.now() - t0) * 1000)
    ids.push(r)
  }
  return { us, ids }
}

// ---- the naive baseline: number[][] and a full sort ----

class Naive {
  ids: string[] = []
  vecs: number[][] = []
  add(id: string, v: number[]): void {
    let n = 0
    for (const x of v) n += x * x
    n = Math.sqrt(n)
    this.ids.push(id)
    this.vecs.push(v.map((x) => x / n))
  }
  search(q: number[], k: number): string[] {
    let n = 0
    for (const x of q) n += x * x
    n = Math.sqrt(n)
    const scored = this.vecs.map((v, i) => {
      let d = 0
      for (let j = 0; j < v.length; j++) d += v[j]! * q[j]!
      return { i, s: d / n }
    })
    scored.sort((a, b) => b.s - a.s)
    return scored.slice(0, k).map((x) => this.ids[x.i]!)
  }
}

async function benchSize(n: number): Promise<Row[]> {
  const data = clustered({ count: n, dims: DIMS, seed: 1234 })
  const all = items(data.data, n)
  const nq = queriesFor(n)
  const queries = Array.from({ length: nq }, () => Array.from(data.query()))
  const runs = runsFor(n)
  const out: Row[] = []

  // ours, exact only
  const exactUpload: number[] = []
  let exact: SessionVectors | undefined
  let exactEngine: VectorEngine | undefined
  for (let r = 0; r < runs; r++) {
    await exactEngine?.close()
    exactEngine = engine(Number.MAX_SAFE_INTEGER)
    exact = exactEngine.createSessionIndex('exact')
    exactUpload.push(upload(exact, all))
  }
  const exactTimes: number[] = []
  let truth: string[][] = []
  for (let r = 0; r < runs; r++) {
    const res = await timeSearches(queries, async (q) => (await exact!.search({ vector: q, k: K })).results.map((h) => h.id))
    exactTimes.push(...res.us)
    truth = res.ids
  }
  const es = summarize(exactTimes)
  out.push({ engine: 'ours, exact scan', n, uploadPerSec: n / (median(exactUpload) / 1000), p50: es.p50, p99: es.p99, recall: 1, note: '' })
  await exactEngine!.close()

  // ours, HNSW built in the worker
  const hEngine = engine(0)
  const h = hEngine.createSessionIndex('hnsw')
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const t0 = performance.now()
  const hUpload = upload(h, all)
  while (h.indexState !== 'ready') await new Promise((r) => setTimeout(r, 20))
  const buildMs = performance.now() - t0
  loop.disable()
  const hTimes: number[] = []
  let hRecall = 0
  for (let r = 0; r < runs; r++) {
    const res = await timeSearches(queries, async (q) => {
      const x = await h.search({ vector: q, k: K })
      if (x.exact) throw new Error('HNSW path not taken')
      return x.results.map((hit) => hit.id)
    })
    hTimes.push(...res.us)
    hRecall = res.ids.reduce((a, ids, i) => a + recall(ids, truth[i]!), 0) / res.ids.length
  }
  const hs = summarize(hTimes)
  out.push({
    engine: 'ours, HNSW (worker)',
    n,
    uploadPerSec: n / (hUpload / 1000),
    p50: hs.p50,
    p99: hs.p99,
    recall: hRecall,
    note: `build ${(buildMs / 1000).toFixed(1)} s; max loop delay ${(loop.max / 1e6).toFixed(1)} ms`,
  })
  await hEngine.close()

  // naive JS baseline
  const naiveUpload: number[] = []
  let naive = new Naive()
  for (let r = 0; r < runs; r++) {
    naive = new Naive()
    const t1 = performance.now()
    for (const it of all) naive.add(it.id, it.vector)
    naiveUpload.push(performance.now() - t1)
  }
  const nTimes: number[] = []
  let nRecall = 0
  for (let r = 0; r < runs; r++) {
    const res = await timeSearches(queries, (q) => naive.search(q, K))
    nTimes.push(...res.us)
    nRecall = res.ids.reduce((a, ids, i) => a + recall(ids, truth[i]!), 0) / res.ids.length
  }
  const ns = summarize(nTimes)
  out.push({ engine: 'naive JS (number[][], full sort)', n, uploadPerSec: n / (median(naiveUpload) / 1000), p50: ns.p50, p99: ns.p99, recall: nRecall, note: '' })

  // hnswlib-node's BruteforceSearch: the other candidate for the exact path
  // ('ip' on unit vectors = cosine ranking; it runs on the calling thread).
  const units = all.map((it) => {
    const norm = Math.sqrt(it.vector.reduce((a, x) => a + x * x, 0))
    return it.vector.map((x) => x / norm)
  })
  const bfUpload: number[] = []
  let bf = new hnswlib.BruteforceSearch('ip', DIMS)
  for (let r = 0; r < runs; r++) {
    bf = new hnswlib.BruteforceSearch('ip', DIMS)
    bf.initIndex(n)
    const t1 = performance.now()
    for (let i = 0; i < n; i++) bf.addPoint(units[i]!, i)
    bfUpload.push(performance.now() - t1)
  }
  const bTimes: number[] = []
  let bRecall = 0
  for (let r = 0; r < runs; r++) {
    const res = await timeSearches(queries, (q) => bf.searchKnn(q, K).neighbors.map((label) => `v${label}`))
    bTimes.push(...res.us)
    bRecall = res.ids.reduce((a, ids, i) => a + recall(ids, truth[i]!), 0) / res.ids.length
  }
  const bs = summarize(bTimes)
  out.push({
    engine: 'hnswlib-node BruteforceSearch',
    n,
    uploadPerSec: n / (median(bfUpload) / 1000),
    p50: bs.p50,
    p99: bs.p99,
    recall: bRecall,
    note: 'blocks the loop for a whole search',
  })

  for (const r of out) if (!r.engine.startsWith('naive')) r.note = [`search ${(ns.p50 / r.p50).toFixed(1)}x naive`, r.note].filter(Boolean).join('; ')
  return out
}

/** 'ip' on pre-normalized vectors vs 'cosine' (which normalizes again), raw hnswlib-node on this thread. */
function spaces(n: number): string[] {
  const data = clustered({ count: n, dims: DIMS, seed: 99 })
  const unit = new Float32Array(data.data)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < DIMS; j++) s += unit[i * DIMS + j]! ** 2
    s = Math.sqrt(s)
    for (let j = 0; j < DIMS; j++) unit[i * DIMS + j]! /= s
  }
  const lines = ['| space | add ms/point | search µs p50 |', '| --- | ---: | ---: |']
  for (const space of ['ip', 'cosine'] as const) {
    const g = new hnswlib.HierarchicalNSW(space, DIMS)
    g.initIndex(n, TUNING.hnswM, TUNING.hnswEfConstruction, 100)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) g.addPoint(Array.from(unit.subarray(i * DIMS, (i + 1) * DIMS)), i)
    const add = (performance.now() - t0) / n
    g.setEf(TUNING.hnswEfSearch)
    const us: number[] = []
    for (let i = 0; i < 200; i++) {
      const q = Array.from(data.query())
      const t1 = performance.now()
      g.searchKnn(q, K)
      us.push((performance.now() - t1) * 1000)
    }
    lines.push(`| ${space} | ${add.toFixed(3)} | ${median(us).toFixed(0)} |`)
  }
  return lines
}

const fmt = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1))

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
  console.log(`Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`)
  console.log(
    `Date: ${new Date().toISOString().slice(0, 10)}; load average at start ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
  console.log(`Data: clustered ${DIMS}-dim (seeded Gaussian mixture), k=${K}, HNSW M=${TUNING.hnswM} efConstruction=${TUNING.hnswEfConstruction} efSearch=${TUNING.hnswEfSearch}`)
  console.log('')
  const rows: Row[] = []
  for (const n of sizes) rows.push(...(await benchSize(n)))
  console.log('| vectors | engine | upload vectors/s | search p50 µs | search p99 µs | recall@10 | notes |')
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | --- |')
  for (const r of rows) {
    console.log(`| ${r.n.toLocaleString('en-US')} | ${r.engine} | ${fmt(r.uploadPerSec)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.recall.toFixed(3)} | ${r.note} |`)
  }
  // Where exact stops being cheap: the exact scan's cost per vector against HNSW's fixed cost.
  const big = rows.filter((r) => r.engine === 'ours, exact scan').at(-1)
  const hn = rows.filter((r) => r.engine === 'ours, HNSW (worker)').at(-1)
  if (big && hn) {
    const perVector = big.p50 / big.n
    console.log('')
    console.log(
      `Exact scan ≈ ${(perVector * 1000).toFixed(0)} ns/vector at ${DIMS} dims; HNSW p50 at ${hn.n.toLocaleString('en-US')} = ${fmt(hn.p50)} µs -> crossover ≈ ${Math.round(hn.p50 / perVector).toLocaleString('en-US')} vectors.`,
    )
  }
  console.log('')
  console.log(
    `Load average at end: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (other processes on the machine skew the numbers)`,
  )
  const sn = sizes.find((n) => n >= 10_000)
  if (sn) {
    console.log('')
    console.log(`HNSW space, raw hnswlib-node on one thread, ${Math.min(sn, 5000).toLocaleString('en-US')} vectors:`)
    console.log('')
    for (const l of spaces(Math.min(sn, 5000))) console.log(l)
  }
}

await main()
