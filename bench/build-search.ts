// Searches while a session's HNSW graph is being built, against searches once
// it is built: the host runs in its own process; one SDK client uploads
// --vectors clustered 384-dim vectors (batches of 1 000) and then searches
// the same session (k=10, one search every --pace-ms) until the graph is
// ready, and as many again after.
//
//   npx tsx --conditions=rsh-source bench/build-search.ts --vectors=20000
//
// Flags: --vectors=20000  --pace-ms=20  --after=300 (searches after the build)
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { SessionClient } from '@rag-session-host/client'
import { clustered } from './lib/data.js'
import { startHostProcess } from './host/spawn.js'
import { flagValue } from './lib/cli.js'
import { percentile } from './lib/stats.js'

const flag = flagValue
const VECTORS = Number(flag('vectors', '20000'))
const PACE_MS = Number(flag('pace-ms', '20'))
const AFTER = Number(flag('after', '300'))
const DIMS = 384

const pct = (xs: number[], p: number): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  )

const host = await startHostProcess({ PERSIST: 'false' })
try {
  const client = await SessionClient.connect(host.url, { hostPublicKey: host.publicKey, requestTimeoutMs: 120_000 })
  await client.openSession('build-search')
  const data = clustered({ count: VECTORS, dims: DIMS, seed: 7 })
  for (let i = 0; i < VECTORS; i += 1000) {
    const n = Math.min(1000, VECTORS - i)
    await client.uploadVectors(Array.from({ length: n }, (_, j) => ({ id: `v${i + j}`, vector: data.data.subarray((i + j) * DIMS, (i + j + 1) * DIMS) })))
  }
  const queries = Array.from({ length: 256 }, () => data.query())
  const during: number[] = []
  const exactDuring = { exact: 0, merged: 0 }
  const after: number[] = []
  let ready = false
  const t0 = performance.now()
  const poll = (async () => {
    while (!ready) {
      const st = await host.stats()
      if (st.vectors.hnswIndexes >= 1 && st.vectors.building === 0) ready = true
      else await sleep(200)
    }
  })()
  let q = 0
  const search = async (into: number[]): Promise<boolean> => {
    const started = performance.now()
    const r = await client.searchVectors(queries[q++ & 255]!, { k: 10 })
    into.push((performance.now() - started) * 1000)
    const wait = PACE_MS - (performance.now() - started)
    if (wait > 0) await sleep(wait)
    return r.exact
  }
  while (!ready) {
    if (await search(during)) exactDuring.exact++
    else exactDuring.merged++
  }
  const buildS = (performance.now() - t0) / 1000
  await poll
  for (let i = 0; i < AFTER; i++) await search(after)
  await client.close()
  const row = (name: string, xs: number[]): string => `| ${name} | ${xs.length} | ${Math.round(pct(xs, 50))} | ${Math.round(pct(xs, 99))} |`
  console.log(
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 16)} UTC; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
  console.log(
    `${VECTORS} × ${DIMS} clustered vectors; graph ready ${buildS.toFixed(1)} s after the last upload; during the build ${exactDuring.exact} searches answered exactly, ${exactDuring.merged} from the graph plus the tail`,
  )
  console.log(
    `| searches (k=10, one every ${PACE_MS} ms) | n | p50 µs | p99 µs |\n| --- | ---: | ---: | ---: |\n${row('while the graph is built', during)}\n${row('after it is built', after)}`,
  )
  console.log(`during / after, p50: ${(pct(during, 50) / pct(after, 50)).toFixed(2)}×`)
} finally {
  await host.stop()
}
