// Where the time of one operation goes, on both sides: the host runs in its
// own process under `node --cpu-prof`, this process (the SDK client) is
// profiled with node:inspector, and both profiles' self time is printed by
// function, heaviest first. Sequential round trips, one client.
//
//   npx tsx --conditions=rsh-source bench/profile.ts --op=search   # k=10 over 20 000 x 384, HNSW ready
//   npx tsx --conditions=rsh-source bench/profile.ts --op=ping --count=20000
//   npx tsx --conditions=rsh-source bench/profile.ts --op=upload --vectors=20000   # batches of 1 000
//
// Flags: --op=search|ping|upload  --vectors=20000  --count=3000  --top=25  --dir=/tmp/rsh-profile
// The .cpuprofile files stay in --dir (open them in Chrome DevTools for the call tree).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { SessionClient } from '@rag-session-host/client'
import { clustered } from './lib/data.js'
import { startHostProcess } from './host/spawn.js'
import { flagValue } from './lib/cli.js'

const flag = flagValue
const OP = flag('op', 'search')
const VECTORS = Number(flag('vectors', '20000'))
const COUNT = Number(flag('count', '3000'))
const TOP = Number(flag('top', '25'))
const DIR = flag('dir', '/tmp/rsh-profile')
const DIMS = 384
if (!['search', 'ping', 'upload'].includes(OP)) throw new Error('--op must be search, ping or upload')

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Self time by function, ms, heaviest first (idle and the profiler's own bookkeeping included, as V8 reports them). */
function selfTimes(p: Profile): { total: number; rows: [string, number][] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').pop() ?? ''}${cf.url ? `:${cf.lineNumber + 1}` : ''}`
    self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i]! / 1000)
  })
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1])
  return { total: rows.reduce((s, [, ms]) => s + ms, 0), rows }
}

function print(title: string, p: Profile): void {
  const { total, rows } = selfTimes(p)
  const busy = total - (rows.find(([k]) => k.startsWith('(idle)'))?.[1] ?? 0)
  console.log(`\n### ${title}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy\n`)
  console.log('| self ms | % of busy | function |\n| ---: | ---: | --- |')
  for (const [k, ms] of rows.filter(([k]) => !k.startsWith('(idle)')).slice(0, TOP)) console.log(`| ${ms.toFixed(1)} | ${((100 * ms) / busy).toFixed(1)} | \`${k}\` |`)
}

rmSync(DIR, { recursive: true, force: true })
mkdirSync(DIR, { recursive: true })
const hostDir = join(DIR, 'host')
const host = await startHostProcess({ PERSIST: 'false' }, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${hostDir}`] })
const client = await SessionClient.connect(host.url, { hostPublicKey: host.publicKey, requestTimeoutMs: 120_000 })
await client.openSession('profile')
const data = clustered({ count: VECTORS, dims: DIMS, seed: 2024 })
const batch = (from: number, n: number) =>
  Array.from({ length: n }, (_, j) => ({ id: `v${from + j}`, vector: data.data.subarray((from + j) * DIMS, (from + j + 1) * DIMS), metadata: { i: from + j } }))

if (OP === 'search') {
  for (let i = 0; i < VECTORS; i += 1000) await client.uploadVectors(batch(i, Math.min(1000, VECTORS - i)))
  for (;;) {
    const st = await host.stats()
    if (st.vectors.hnswIndexes >= 1 && st.vectors.building === 0) break
    await sleep(250)
  }
}
const queries = Array.from({ length: 256 }, () => data.query())
const run = async (): Promise<void> => {
  if (OP === 'search') for (let i = 0; i < COUNT; i++) await client.searchVectors(queries[i & 255]!, { k: 10 })
  else if (OP === 'ping') for (let i = 0; i < COUNT; i++) await client.ping()
  else for (let i = 0; i < VECTORS; i += 1000) await client.uploadVectors(batch(i, Math.min(1000, VECTORS - i)))
}
await run() // warm-up (for upload: the upserts of a second round are profiled)

const inspector = new Session()
inspector.connect()
await inspector.post('Profiler.enable')
await inspector.post('Profiler.start')
await host.reset()
const t0 = performance.now()
await run()
const ms = performance.now() - t0
const { profile } = await inspector.post('Profiler.stop')
writeFileSync(join(DIR, 'client.cpuprofile'), JSON.stringify(profile))
const hostStats = await host.stats()
await client.close()
await host.stop()

const n = OP === 'upload' ? Math.ceil(VECTORS / 1000) : COUNT
console.log(`${OP}: ${n} sequential requests in ${ms.toFixed(0)} ms, ${((ms * 1000) / n).toFixed(0)} µs each; host event loop p99 ${hostStats.eventLoop.p99} ms`)
print('client (this process)', profile as unknown as Profile)
// The host process writes one profile per thread (main first); the main thread's is the largest here.
const files = readdirSync(hostDir).sort()
print('host main thread (whole run, set-up included)', JSON.parse(readFileSync(join(hostDir, files[0]!), 'utf8')) as Profile)
console.log(`\nProfiles: ${DIR}/client.cpuprofile and ${hostDir}/ (one file per thread)`)
