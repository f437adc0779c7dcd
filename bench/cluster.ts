// npm run bench:cluster: what cluster mode costs, on this machine. Starts a
// real redis-server (appendfsync always), three host processes in cluster
// mode and HAProxy with deploy/haproxy.cfg, then measures:
//
//   1. the mixed workload (bench:load) through HAProxy in front of the three
//      hosts, against one lone host (local journal, fsync always) run the same
//      way in the same run: requests/s and p50, side by side;
//   2. hand-off time: an init on a host that does not hold the session (the
//      owner releases it, the new host loads it), against a re-init where it is;
//   3. failover time: SIGKILL of the owner to the first successful init on
//      another host (about one lease);
//   4. loading a big session from Redis: N x dims vectors uploaded on one host,
//      then opened on another.
//
// Everything shares this machine's cores: the figures are costs and ratios,
// not what separate machines would do. The process helpers are the tests'
// (test/helpers/), so the bench runs exactly what the tests run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { SessionClient, generateIdentity } from '@rag-session-host/client'
import { startHaproxy } from '../test/helpers/haproxy.js'
import { startHostProcess, type HostProcess } from '../test/helpers/host-process.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { flagValue } from './lib/cli.js'
import { median } from './lib/stats.js'
import { parseLoadArgs } from './load/args.js'
import { runLoad } from './load/run.js'

const clients = Number(flagValue('clients', '50'))
const duration = Number(flagValue('duration', '15'))
const bigVectors = Number(flagValue('vectors', '100000'))
const dims = Number(flagValue('dims', '384'))
const leaseMs = Number(flagValue('lease-ms', '10000'))
const samples = Number(flagValue('samples', '15'))

const cleanups: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => cleanups.push(fn) }
const home = mkdtempSync(join(tmpdir(), 'rsh-bench-cluster-'))
const log = (s: string): void => void process.stderr.write(s + '\n')

const NO_LIMITS = {
  MAX_CONNECTIONS_PER_IP: '0',
  MAX_SESSIONS_PER_IP: '0',
  INIT_RATE_PER_IP: '0',
  RATE_LIMIT_PER_SEC: '0',
  HTTP_RATE_LIMIT_MAX: '0',
  MAX_SESSIONS: '5000',
  READY_MAX_EVENT_LOOP_DELAY_MS: '0',
}

async function load(url: string, label: string): Promise<{ rps: number; p50: number; errors: number }> {
  const out = join(home, `${label}.json`)
  const args = parseLoadArgs(['--url', url, '--clients', String(clients), '--duration', String(duration), '--json', out])
  if (args === 'help') throw new Error('unreachable: no --help given')
  const code = await runLoad(args, { stdout: () => undefined, stderr: () => undefined })
  const r = JSON.parse(readFileSync(out, 'utf8')) as { errors: number; elapsed_s: number; operations: Record<string, { count: number; p50_ms: number | null }> }
  const count = Object.values(r.operations).reduce((a, o) => a + o.count, 0)
  const p50 = median(Object.values(r.operations).flatMap((o) => (o.p50_ms === null ? [] : [o.p50_ms])))
  if (code !== 0) log(`  ${label}: bench:load exit ${code}`)
  return { rps: count / r.elapsed_s, p50, errors: r.errors }
}

async function timeInit(url: string, identity: ReturnType<typeof generateIdentity>, sessionId: string): Promise<number> {
  const c = await SessionClient.connect(url, { identity, routeHint: sessionId, requestTimeoutMs: 120_000 })
  const t0 = performance.now()
  await c.openSession(sessionId)
  const ms = performance.now() - t0
  await c.close()
  return ms
}

try {
  const redis = await startRedisServer(t)
  const secretKey = nacl.box.keyPair().secretKey
  const clusterEnv = (n: number) => ({
    ...NO_LIMITS,
    CLUSTER_REDIS_URL: redis.url,
    NODE_ID: `host${n}`,
    CLUSTER_LEASE_MS: String(leaseMs),
    CLUSTER_HOLD_MS: '0',
    TRUST_PROXY: 'true',
    LOG_LEVEL: 'warn',
  })
  const start = (n: number): Promise<HostProcess> => startHostProcess(t, { dataDir: mkdtempSync(join(home, `h${n}-`)), secretKey, env: { ...clusterEnv(n), LOG_LEVEL: 'info' } })
  const hosts = await Promise.all([1, 2, 3].map(start))
  await Promise.all(hosts.map((h) => h.waitFor('cluster.joined')))
  const haproxy = await startHaproxy(t, { backends: hosts.map((h) => new URL(h.url).host) as [string, string, string] })
  await haproxy.waitForAllUp()
  const lone = await startHostProcess(t, { dataDir: mkdtempSync(join(home, 'lone-')), secretKey: nacl.box.keyPair().secretKey, env: { ...NO_LIMITS } })

  // 1. The workload, alternating lone and cluster runs so drift hits both.
  log(`workload: ${clients} clients, ${duration} s per run`)
  const rows: { lone: Awaited<ReturnType<typeof load>>; cluster: Awaited<ReturnType<typeof load>> }[] = []
  for (let i = 0; i < 2; i++) rows.push({ lone: await load(lone.url, `lone-${i}`), cluster: await load(haproxy.url, `cluster-${i}`) })
  await lone.destroy()

  // 2. Hand-off against re-init in place.
  const identity = generateIdentity()
  const [a, b] = hosts as [HostProcess, HostProcess, HostProcess]
  const seed = await SessionClient.connect(a.url, { identity })
  const handoff: number[] = []
  const inPlace: number[] = []
  for (let i = 0; i < samples; i++) {
    const id = `handoff-${i}`
    await seed.openSession(id)
    await seed.uploadVectors(Array.from({ length: 100 }, (_, j) => ({ id: `v${j}`, vector: Array.from({ length: 16 }, (_, k) => Math.sin(j + k + i)) })))
    for (let m = 0; m < 20; m++) await seed.appendMessage('user', `message ${m}`)
    inPlace.push(await timeInit(a.url, identity, id))
    handoff.push(await timeInit(b.url, identity, id))
  }
  await seed.close()

  // 4. A big session loaded from Redis (uploaded on b, opened on a).
  log(`big session: ${bigVectors} x ${dims}`)
  const up = await SessionClient.connect(b.url, { identity, requestTimeoutMs: 120_000 })
  await up.openSession('big')
  const batch = 1000
  for (let i = 0; i < bigVectors; i += batch) {
    const rows = Array.from({ length: Math.min(batch, bigVectors - i) }, (_, j) => ({
      id: `b${i + j}`,
      vector: Float32Array.from({ length: dims }, (_, k) => Math.sin((i + j + 1) * (k + 1))),
    }))
    await up.uploadVectors(rows)
  }
  await up.close()
  const bigInit = await timeInit(a.url, identity, 'big')
  const loaded = await a.waitFor('cluster.session_loaded', { session_id: 'big' })

  // 3. Failover: the owner of a session is killed; inits elsewhere succeed once its lease expires.
  const victim = await SessionClient.connect(a.url, { identity })
  await victim.openSession('failover')
  await victim.appendMessage('user', 'kept')
  await victim.close()
  const killedAt = performance.now()
  a.killGroup('SIGKILL')
  await timeInit(b.url, identity, 'failover')
  const failoverMs = performance.now() - killedAt

  const f = (x: number, d = 0): string => x.toFixed(d)
  const out = [
    `| Measure | Lone host | Cluster (3 hosts + HAProxy + Redis) | Ratio |`,
    `| --- | --- | --- | --- |`,
    ...rows.map(
      (r, i) =>
        `| Workload run ${i + 1}, requests/s (errors) | ${f(r.lone.rps)} (${r.lone.errors}) | ${f(r.cluster.rps)} (${r.cluster.errors}) | ${f(r.cluster.rps / r.lone.rps, 2)} |`,
    ),
    ...rows.map((r, i) => `| Workload run ${i + 1}, median of the per-operation p50, ms | ${f(r.lone.p50, 1)} | ${f(r.cluster.p50, 1)} | ${f(r.cluster.p50 / r.lone.p50, 2)} |`),
    `| Init where the session is, median of ${samples}, ms | ${f(median(inPlace), 1)} | | |`,
    `| Init on another host (hand-off + load), median of ${samples}, ms | | ${f(median(handoff), 1)} | ${f(median(handoff) / median(inPlace), 1)} |`,
    `| Failover: SIGKILL to the first init elsewhere (lease ${leaseMs} ms), ms | | ${f(failoverMs)} | |`,
    `| Open a ${bigVectors} x ${dims} session on another host: init, ms | | ${f(bigInit)} | |`,
    `| of which loading from Redis (cluster.session_loaded), ms; bytes | | ${String(loaded.ms)}; ${String(loaded.bytes)} | |`,
  ]
  process.stdout.write(out.join('\n') + '\n')
} finally {
  for (const fn of cleanups.reverse()) await fn()
  rmSync(home, { recursive: true, force: true })
}
