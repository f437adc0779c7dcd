// Host-level vector benchmark: one session (A) uploads 100 000 vectors over
// the SDK while another (B) keeps searching; the host runs in its own process
// (bench/host/spawn.ts) and reports its own event-loop delay.
//
//   npm run bench:vectors-host                       # batches of 1000 and 250, 3 runs each (~10 min)
//   npx tsx bench/vectors-host.ts --runs=1 --batches=1000 --vectors=20000   # quick
//
// Flags: --vectors=100000  --batches=1000,250  --runs=3  --pace-ms=20
//        --idle-searches=300  --no-build (don't wait for A's HNSW graph)
//        --host-env=NAME=value,NAME=value (extra host configuration, for experiments)
//        --host-args=--cpu-prof,--cpu-prof-dir=DIR (extra node flags for the host process)
//
// Per run, on a fresh host:
//   idle    B (1 000 clustered 384-dim vectors, exact search) searches k=10,
//           one search every --pace-ms (or as soon as the previous one is
//           answered, if later); the host does nothing else.
//   loaded  A uploads --vectors clustered 384-dim vectors (vector_b64, the SDK
//           default; metadata {i}), one batch request at a time, while B goes
//           on searching at the same pace. A's client runs on a worker thread
//           of this process (bench/lib/uploader-worker.ts), so its client-side
//           work does not delay B's client. Host event-loop delay: reset()
//           right before A's first batch, stats() right after its last reply.
//   build   after the upload, time until A's HNSW graph is ready (host
//           stats: building 0, one index), B still searching.
// Prints the machine, the date, every run, and the median run per batch size
// (the run with the median event-loop p99 during the upload).
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Worker } from 'node:worker_threads'
import { SessionClient } from '@rag-session-host/client'
import { startWorker } from '../src/util/worker-file.js'
import { clustered } from './lib/data.js'
import { nextReply } from './lib/worker-reply.js'
import { startHostProcess, type HostStats } from './host/spawn.js'
import { flagValue } from './lib/cli.js'
import { percentile } from './lib/stats.js'

const DIMS = 384
const K = 10
const B_VECTORS = 1000
const AIM_LOOP_P99_MS = 20
const AIM_SEARCH_RATIO = 2

const flag = flagValue
const VECTORS = Number(flag('vectors', '100000'))
const BATCHES = flag('batches', '1000,250').split(',').map(Number)
const RUNS = Number(flag('runs', '3'))
const PACE_MS = Number(flag('pace-ms', '20'))
const IDLE_SEARCHES = Number(flag('idle-searches', '300'))
const WAIT_BUILD = !process.argv.includes('--no-build')
/** Extra node flags for the host process, comma-separated (e.g. --host-args=--cpu-prof,--cpu-prof-dir=/tmp/prof). */
const HOST_ARGS = flag('host-args', '').split(',').filter(Boolean)
const HOST_ENV: Record<string, string> = Object.fromEntries(
  flag('host-env', '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
)

interface Run {
  batch: number
  run: number
  uploadPerSec: number
  uploadS: number
  readyS: number | null
  idle: { p50: number; p99: number; n: number; loop: HostStats['eventLoop'] }
  loaded: { p50: number; p99: number; n: number; loop: HostStats['eventLoop'] }
  build: { p50: number; p99: number; n: number } | null
  batchMs: { p50: number; p99: number }
  rssMiB: number
}

const pct = (xs: number[], p: number): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  )

// Seeded data, the same every run: A's 100k (made in A's worker, seed 1234) and B's 1k from different mixtures.
const SEED_A = 1234
const dataB = clustered({ count: B_VECTORS, dims: DIMS, seed: 5678 })
const queries = Array.from({ length: 512 }, () => dataB.query())
const rowB = (i: number): Float32Array => dataB.data.subarray(i * DIMS, (i + 1) * DIMS)

/** Session A's client on its own thread (bench/lib/uploader-worker.ts). */
function uploader(url: string, publicKey: string, batch: number) {
  const worker: Worker = startWorker(import.meta.url, 'lib/uploader-worker')
  worker.ref()
  const next = <T>(type: string): Promise<T> => nextReply<T>(worker, type, 'uploader')
  return {
    async start(): Promise<void> {
      const p = next('ready')
      worker.postMessage({ cmd: 'start', url, publicKey, vectors: VECTORS, batch, dims: DIMS, seed: SEED_A })
      await p
    },
    async upload(): Promise<{ uploadMs: number; batchMs: number[] }> {
      const p = next<{ uploadMs: number; batchMs: number[] }>('done')
      worker.postMessage({ cmd: 'go' })
      return p
    },
    async finish(): Promise<number> {
      const p = next<{ vectors: number }>('info')
      worker.postMessage({ cmd: 'info' })
      const { vectors } = await p
      await worker.terminate()
      return vectors
    },
    async stop(): Promise<void> {
      await worker.terminate()
    },
  }
}

/** B's search loop: one search at a time, started every PACE_MS (or when the previous answer is back, if later). */
function searcher(b: SessionClient) {
  let phase = null as number[] | null
  let stopped = false
  let q = 0
  let errors = 0
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now()
      try {
        await b.searchVectors(queries[q++ % queries.length]!, { k: K })
        phase?.push((performance.now() - t0) * 1000)
      } catch {
        errors++
      }
      const wait = PACE_MS - (performance.now() - t0)
      if (wait > 0) await sleep(wait)
    }
  })()
  return {
    /** Starts collecting latencies (µs) into a fresh list and returns it. */
    collect(): number[] {
      phase = []
      return phase
    },
    get errors() {
      return errors
    },
    async stop() {
      stopped = true
      await done
    },
  }
}

async function oneRun(batch: number, run: number): Promise<Run> {
  const host = await startHostProcess(HOST_ENV, { nodeArgs: HOST_ARGS })
  const a = uploader(host.url, host.publicKey, batch)
  try {
    await a.start()
    const b = await SessionClient.connect(host.url, { hostPublicKey: host.publicKey, requestTimeoutMs: 120_000 })
    await b.openSession('bench-b')
    for (let i = 0; i < B_VECTORS; i += 500) {
      await b.uploadVectors(Array.from({ length: Math.min(500, B_VECTORS - i) }, (_, k) => ({ id: `b${i + k}`, vector: rowB(i + k), metadata: { i: i + k } })))
    }
    const s = searcher(b)
    // warm-up (JIT on both sides), then idle
    await sleep(1500)
    await host.reset()
    const idleLat = s.collect()
    while (idleLat.length < IDLE_SEARCHES) await sleep(PACE_MS)
    const idleLoop = (await host.stats()).eventLoop

    // loaded: A uploads everything, one request at a time, from its own thread
    await host.reset()
    const loadedLat = s.collect()
    const t0 = performance.now()
    const { batchMs } = await a.upload()
    const uploadMs = performance.now() - t0
    const loaded = await host.stats()
    const loadedCopy = [...loadedLat]

    let readyS: number | null = null
    let build: Run['build'] = null
    if (WAIT_BUILD) {
      const buildLat = s.collect()
      for (;;) {
        const st = await host.stats()
        if (st.vectors.hnswIndexes >= 1 && st.vectors.building === 0) break
        await sleep(250)
      }
      readyS = (performance.now() - t0) / 1000
      build = { p50: pct(buildLat, 50), p99: pct(buildLat, 99), n: buildLat.length }
    }
    await s.stop()
    if (s.errors > 0) throw new Error(`${s.errors} searches failed`)
    const held = await a.finish()
    if (held !== VECTORS) throw new Error(`A holds ${held} vectors`)
    await b.close()
    return {
      batch,
      run,
      uploadPerSec: VECTORS / (uploadMs / 1000),
      uploadS: uploadMs / 1000,
      readyS,
      idle: { p50: pct(idleLat, 50), p99: pct(idleLat, 99), n: idleLat.length, loop: idleLoop },
      loaded: { p50: pct(loadedCopy, 50), p99: pct(loadedCopy, 99), n: loadedCopy.length, loop: loaded.eventLoop },
      build,
      batchMs: { p50: pct(batchMs, 50), p99: pct(batchMs, 99) },
      rssMiB: loaded.rssMiB,
    }
  } finally {
    await a.stop()
    await host.stop()
  }
}

const f1 = (x: number): string => x.toFixed(1)
const int = (x: number): string => Math.round(x).toLocaleString('en-US')
const yes = (ok: boolean): string => (ok ? 'met' : '**missed**')

function row(r: Run, label: string): string {
  const ratio = r.loaded.p99 / r.idle.p99
  return [
    '',
    label,
    r.batch,
    `${f1(r.loaded.loop.p50)} / ${f1(r.loaded.loop.p99)} / ${f1(r.loaded.loop.max)}`,
    `${int(r.idle.p50)} / ${int(r.idle.p99)}`,
    `${int(r.loaded.p50)} / ${int(r.loaded.p99)}`,
    `${ratio.toFixed(2)}×`,
    int(r.uploadPerSec),
    f1(r.batchMs.p50) + ' / ' + f1(r.batchMs.p99),
    r.readyS === null ? 'n/a' : f1(r.readyS),
    r.build ? `${int(r.build.p50)} / ${int(r.build.p99)}` : 'n/a',
    `${f1(r.idle.loop.p99)} / ${f1(r.idle.loop.max)}`,
    `${yes(r.loaded.loop.p99 <= AIM_LOOP_P99_MS)}, ${yes(ratio <= AIM_SEARCH_RATIO)}`,
    '',
  ]
    .join(' | ')
    .trim()
}

const header = [
  '| run | batch | host loop delay during upload p50 / p99 / max ms | B search idle p50 / p99 µs | B search during upload p50 / p99 µs | B p99 loaded / idle | A upload vectors/s | A batch round trip p50 / p99 ms | A index ready s | B search during build p50 / p99 µs | host loop delay idle p99 / max ms | aims (loop p99 ≤ 20 ms, B p99 ≤ 2× idle) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
]

const cpus = os.cpus()
console.log(
  `Machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`,
)
console.log(
  `Date: ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC; load average at start ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
console.log(
  `A: ${VECTORS.toLocaleString('en-US')} clustered ${DIMS}-dim vectors (vector_b64), one batch request at a time; B: ${B_VECTORS.toLocaleString('en-US')} vectors, k=${K} searches every ${PACE_MS} ms, ${IDLE_SEARCHES} idle; host config defaults${Object.keys(HOST_ENV).length ? ` + ${JSON.stringify(HOST_ENV)}` : ''}; host, client and workers share the machine's cores.`,
)
const runs: Run[] = []
for (const batch of BATCHES) {
  for (let run = 1; run <= RUNS; run++) {
    const r = await oneRun(batch, run)
    runs.push(r)
    console.error(`batch ${batch} run ${run}: ${row(r, String(run))}`)
  }
}
console.log('')
console.log('All runs:')
console.log('')
for (const l of header) console.log(l)
for (const r of runs) console.log(row(r, String(r.run)))
console.log('')
console.log(`Median run per batch size (by host event-loop p99 during the upload, of ${RUNS}):`)
console.log('')
for (const l of header) console.log(l)
for (const batch of BATCHES) {
  const mine = runs.filter((r) => r.batch === batch).sort((x, y) => x.loaded.loop.p99 - y.loaded.loop.p99)
  const mid = mine[Math.floor((mine.length - 1) / 2)]!
  console.log(row(mid, `median (${mid.run})`))
}
console.log('')
console.log(
  `Load average at end: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
