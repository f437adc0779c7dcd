// Host memory per stored vector: the host runs in its own process; this
// process opens --sessions sessions of --vectors clustered vectors each
// (vector_b64 over the SDK, batches of 1 000), waits until every HNSW graph
// is built and the host is idle, and reads the host's RSS from
// /proc/<pid>/status against its RSS before the first upload (the host's main
// thread fully collected first); then again after a full collection, which
// tells garbage the main thread had not collected yet from what is live.
//
//   npx tsx --conditions=rsh-source bench/memory.ts --sessions=1 --vectors=100000   # one big session
//   npx tsx --conditions=rsh-source bench/memory.ts --sessions=500 --vectors=20     # many small ones
//
// Flags: --sessions=1  --vectors=100000  --dims=384  --settle-ms=3000 (idle wait before reading)
//        --persist=false: with a journal (true) the host keeps one copy of each indexed vector, in its
//        graph; without one (false) it keeps its own copy beside the graph's (docs/VECTORS.md). Run both
//        one after the other to compare them.
//        --snapshot=on: off leaves journal snapshots out of the reading (PERSIST=true only).
//        GLIBC_TUNABLES: the host gets npm start's value unless this process has one (empty for none).
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { SessionClient } from '@rag-session-host/client'
import { clustered } from './lib/data.js'
import { startHostProcess } from './host/spawn.js'
import { flagValue } from './lib/cli.js'
import { rssBytes } from './lib/proc.js'

const flag = flagValue
const SESSIONS = Number(flag('sessions', '1'))
const VECTORS = Number(flag('vectors', '100000'))
const DIMS = Number(flag('dims', '384'))
const SETTLE_MS = Number(flag('settle-ms', '3000'))
const PERSIST = flag('persist', 'false')
const MiB = 1024 * 1024

// A snapshot in progress holds the view it captured (every row it had then) until it is written:
// --snapshot=off keeps it out of the reading; the reading is of the vectors, not of a snapshot's timing.
const SNAPSHOT = flag('snapshot', 'on')
const host = await startHostProcess(
  {
    PERSIST,
    MAX_SESSIONS_PER_IP: '100000',
    MAX_CONNECTIONS_PER_IP: '100000',
    ...(SNAPSHOT === 'off' ? { JOURNAL_SNAPSHOT_BYTES: String(2 ** 50), JOURNAL_SNAPSHOT_MS: String(2 ** 31 - 1) } : {}),
  },
  { nodeArgs: ['--expose-gc'] },
)
try {
  await sleep(SETTLE_MS)
  await host.gc()
  const before = rssBytes(host.pid)
  const data = clustered({ count: VECTORS, dims: DIMS, seed: 99 })
  const t0 = performance.now()
  // One connection; sessions opened one after another on it.
  const client = await SessionClient.connect(host.url, { hostPublicKey: host.publicKey, requestTimeoutMs: 300_000 })
  for (let s = 0; s < SESSIONS; s++) {
    await client.openSession(`mem-${s}`)
    for (let i = 0; i < VECTORS; i += 1000) {
      const n = Math.min(1000, VECTORS - i)
      await client.uploadVectors(Array.from({ length: n }, (_, j) => ({ id: `v${i + j}`, vector: data.data.subarray((i + j) * DIMS, (i + j + 1) * DIMS), metadata: { i: i + j } })))
    }
  }
  const uploadS = (performance.now() - t0) / 1000
  for (;;) {
    const st = await host.stats()
    if (st.vectors.building === 0) break
    await sleep(500)
  }
  await sleep(SETTLE_MS)
  const after = rssBytes(host.pid)
  await host.gc()
  const live = rssBytes(host.pid)
  const stats = await host.stats()
  await client.close()
  const raw = SESSIONS * VECTORS * DIMS * 4
  const grew = after - before
  const grewLive = live - before
  console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 16)} UTC`)
  console.log(
    `${SESSIONS} session(s) × ${VECTORS} × ${DIMS} vectors (float32 ${(raw / MiB).toFixed(1)} MiB), uploaded in ${uploadS.toFixed(1)} s; HNSW graphs: ${stats.vectors.hnswIndexes}; PERSIST=${PERSIST} (${PERSIST === 'true' ? 'one copy' : 'two copies'}), snapshots ${SNAPSHOT}, GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? "npm start's"}; charged to MAX_VECTOR_BYTES: ${(stats.vectors.bytes / MiB).toFixed(1)} MiB`,
  )
  console.log(
    `| host RSS before MiB | after MiB | grew MiB | grew / raw | after a main-thread GC: grew MiB | grew / raw | raw float32 MiB | per session KiB (after GC) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n| ${(before / MiB).toFixed(0)} | ${(after / MiB).toFixed(0)} | ${(grew / MiB).toFixed(1)} | ${(grew / raw).toFixed(2)}× | ${(grewLive / MiB).toFixed(1)} | ${(grewLive / raw).toFixed(2)}× | ${(raw / MiB).toFixed(1)} | ${(grewLive / SESSIONS / 1024).toFixed(0)} |`,
  )
} finally {
  await host.stop()
}
