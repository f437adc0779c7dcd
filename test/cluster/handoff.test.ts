// Two hosts of one cluster in this process, on a real redis-server, with real
// SDK clients: a session moves between them with everything acknowledged, an
// init straight to the host that does not own a session gets it handed over,
// another identity stays forbidden, and a session that just moved is held.
import t from 'tap'
import nacl from 'tweetnacl'
import { SessionClient, generateIdentity, type HostError } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { requireClusterTools } from '../helpers/cluster-tools.js'
import { startHost, type TestHost } from '../helpers/host.js'
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

async function clusterHost(t: Teardown, redis: RedisServer, secretKey: Uint8Array, nodeId: string, env: Record<string, string> = {}): Promise<TestHost> {
  const host = await startHost(t, {}, { secretKey, env: { CLUSTER_REDIS_URL: redis.url, NODE_ID: nodeId, CLUSTER_HOLD_MS: '0', ...env } })
  await host.server.joined
  return host
}

function vectors(n: number, dims: number, from = 0): { id: string; vector: number[]; metadata: { i: number } }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `v${from + i}`,
    vector: Array.from({ length: dims }, (_, j) => Math.sin((from + i + 1) * (j + 1))),
    metadata: { i: from + i },
  }))
}

if (requireClusterTools(t, 'cluster hand-off tests')) {
  t.test('an init on the host that does not own the session gets it handed over, with every acknowledged change', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'node-a')
    const b = await clusterHost(t, redis, key, 'node-b')
    t.same(a.hostPublicKey, b.hostPublicKey, 'one identity for the cluster')
    const identity = generateIdentity()

    const first = await SessionClient.connect(a.url, { identity, reconnect: { enabled: false } })
    t.teardown(() => first.close())
    t.equal((await first.openSession('moving')).created, true)
    await first.uploadVectors(vectors(63, 8))
    await first.appendMessage('user', 'before the move')
    const notices: unknown[] = []
    first.on('notice', (n) => notices.push(n))

    const second = await SessionClient.connect(b.url, { identity })
    t.teardown(() => second.close())
    const info = await second.openSession('moving')
    t.equal(info.created, false, 'the session was found, not made again')
    t.equal(info.vectors, 63, 'all 63 vectors came along')
    t.equal(info.history_total, 1)
    await a.log.waitFor('cluster.handoff_out', { session_id: 'moving' })
    await b.log.waitFor('cluster.handoff_in', { session_id: 'moving', from: 'node-a' })
    t.equal(a.server.ctx.sessions.get('moving'), undefined, 'the old host let it go')
    t.match(notices, [{ status: 'evicted', reason: 'moved' }], 'its client was told the session moved')

    const hits = await second.searchVectors(vectors(1, 8, 5)[0]!.vector, { k: 1 })
    t.equal(hits.results[0]?.id, 'v5', 'the index answers on the new host')
    t.same(
      (await second.getHistory()).messages.map((m) => m.content),
      ['before the move'],
    )
    await second.appendMessage('user', 'after the move')

    // Another identity is refused whichever host it reaches.
    for (const host of [a, b]) {
      const thief = await SessionClient.connect(host.url, { reconnect: { enabled: false } })
      const err = (await thief.openSession('moving').catch((e: unknown) => e)) as HostError
      t.equal(err.code, 'forbidden', `forbidden through ${host.server.ctx.cluster?.nodeId}`)
      await thief.close()
    }
    t.equal(b.server.ctx.sessions.get('moving')?.history.total, 2, 'the refused inits moved nothing')
    const metrics = async (host: TestHost): Promise<string> => await (await fetch(`${host.url}/metrics`)).text()
    t.match(await metrics(a), /rsh_cluster_handoffs_total\{direction="out"\} 1/, 'the old host counts a hand-off out')
    const onB = await metrics(b)
    t.match(onB, /rsh_cluster_handoffs_total\{direction="in"\} 1/)
    t.match(onB, /rsh_cluster_leases 1/, 'and holds one lease')
    t.match(onB, /rsh_cluster_redis_seconds_count [1-9]/, 'Redis round trips are timed')
  })

  t.test('a session that just arrived is held for CLUSTER_HOLD_MS: the other host answers unavailable', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'hold-a', { CLUSTER_HOLD_MS: '600000' })
    const b = await clusterHost(t, redis, key, 'hold-b')
    const identity = generateIdentity()
    const first = await SessionClient.connect(a.url, { identity })
    t.teardown(() => first.close())
    await first.openSession('held')
    await first.appendMessage('user', 'stays')
    const second = await SessionClient.connect(b.url, { identity, reconnect: { enabled: false } })
    t.teardown(() => second.close())
    const err = (await second.openSession('held', { timeoutMs: 1500 }).catch((e: unknown) => e)) as HostError
    t.equal(err.code, 'unavailable', 'refused with the retryable code')
    t.equal(err.retryable, true)
    t.ok(a.server.ctx.sessions.get('held'), 'still served where it was')
    t.equal((await first.appendMessage('user', 'still here')).seq, 2)
  })

  t.test('a session new to the cluster gets a number no other host hands out', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'seq-a')
    const b = await clusterHost(t, redis, key, 'seq-b')
    const seqs: number[] = []
    for (const [i, host] of [a, b, a, b].entries()) {
      const c = await SessionClient.connect(host.url)
      await c.openSession(`seq-${i}`)
      seqs.push(host.server.ctx.sessions.get(`seq-${i}`)!.seq)
      await c.close()
    }
    t.equal(new Set(seqs).size, 4, `distinct: ${seqs.join(', ')}`)
  })

  t.test('a host with another HOST_SECRET_KEY does not join', async (t) => {
    const redis = await startRedisServer(t)
    await clusterHost(t, redis, nacl.box.keyPair().secretKey, 'id-a')
    const other = await startHost(t, {}, { env: { CLUSTER_REDIS_URL: redis.url, NODE_ID: 'id-b' } })
    const err = (await other.server.joined.catch((e: unknown) => e)) as Error
    t.match(err.message, /HOST_SECRET_KEY differs from the identity this cluster recorded/)
    t.equal((await fetch(`${other.url}/ready`)).status, 503, 'never ready')
    t.ok(encodeBase64(other.hostPublicKey))
  })
}

if (requireClusterTools(t, 'cluster Redis outage tests')) {
  t.test('Redis stopped: reads go on, changes are refused as unavailable, /ready is 503; Redis back: it recovers by itself', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'outage-a', { CLUSTER_LEASE_MS: '60000' })
    const client = await SessionClient.connect(a.url, { reconnect: { enabled: false } })
    t.teardown(() => client.close())
    await client.openSession('outage')
    await client.uploadVectors(vectors(10, 4))
    await client.appendMessage('user', 'stored')
    t.equal((await fetch(`${a.url}/ready`)).status, 200)

    await redis.stop()
    const lost = await a.log.waitFor('cluster.redis_lost')
    t.equal((await fetch(`${a.url}/ready`)).status, 503, 'not ready while Redis is away')
    t.same(
      (await client.getHistory()).messages.map((m) => m.content),
      ['stored'],
      'reads are answered',
    )
    t.equal((await client.searchVectors(vectors(1, 4, 3)[0]!.vector, { k: 1 })).results[0]?.id, 'v3')
    const err = (await client.request('appendMessage', { role: 'user', content: 'refused' }, { timeoutMs: 800 }).catch((e: unknown) => e)) as HostError
    t.equal(err.code, 'unavailable', 'a change is refused, retryably')
    t.equal(a.server.ctx.sessions.get('outage')?.history.total, 1, 'and not applied')

    await redis.start()
    await a.log.waitFor('cluster.redis_connected', (l) => (l.time as number) >= (lost.time as number), 15_000)
    t.equal((await fetch(`${a.url}/ready`)).status, 200, 'ready again')
    t.equal((await client.appendMessage('user', 'after')).seq, 2, 'changes are taken again')

    // What Redis holds is what was acknowledged: a second host loads exactly that.
    const b = await clusterHost(t, redis, key, 'outage-b')
    const other = await SessionClient.connect(b.url, { identity: client.identity })
    t.teardown(() => other.close())
    const info = await other.openSession('outage')
    t.equal(info.history_total, 2)
    t.same(
      (await other.getHistory()).messages.map((m) => m.content),
      ['stored', 'after'],
    )
  })
}

if (requireClusterTools(t, 'cluster snapshot, drain and start-up tests')) {
  t.test('snapshots in Redis: the stream is trimmed, and another host loads snapshot plus tail exactly', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'snap-a', { JOURNAL_SNAPSHOT_BYTES: '4096' })
    const b = await clusterHost(t, redis, key, 'snap-b')
    const identity = generateIdentity()
    // No reconnect: once the session moves, this client must not pull it back.
    const c = await SessionClient.connect(a.url, { identity, reconnect: { enabled: false } })
    t.teardown(() => c.close())
    await c.openSession('snapped')
    for (let i = 0; i < 4; i++) await c.uploadVectors(vectors(50, 16, i * 50))
    await a.log.waitFor('journal.snapshot', { session_id: 'snapped' })
    await c.appendMessage('user', 'after the snapshot')
    await c.deleteVectors(['v0'])
    const other = await SessionClient.connect(b.url, { identity })
    t.teardown(() => other.close())
    const info = await other.openSession('snapped')
    t.equal(info.vectors, 199, 'every vector but the deleted one')
    t.equal(info.history_total, 1)
    const loaded = await b.log.waitFor('cluster.session_loaded', { session_id: 'snapped' })
    t.ok((loaded.records as number) >= 3, `loaded ${String(loaded.records)} records`)
    t.equal((await other.searchVectors(vectors(1, 16, 123)[0]!.vector, { k: 1 })).results[0]?.id, 'v123')
  })

  t.test('close (the drain) releases every lease at once: another host takes the session without a takeover', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const a = await clusterHost(t, redis, key, 'drain-a', { CLUSTER_LEASE_MS: '600000' })
    const b = await clusterHost(t, redis, key, 'drain-b', { CLUSTER_LEASE_MS: '600000' })
    const identity = generateIdentity()
    const c = await SessionClient.connect(a.url, { identity, reconnect: { enabled: false } })
    await c.openSession('drain')
    await c.appendMessage('user', 'kept')
    await a.close()
    t.match(await a.log.waitFor('cluster.drained'), { released: 1 })
    const other = await SessionClient.connect(b.url, { identity })
    t.teardown(() => other.close())
    t.equal((await other.openSession('drain')).history_total, 1, 'at once, well inside the 10 minute lease')
    t.equal(b.log.events('cluster.takeover').length, 0)
    t.equal(b.log.events('cluster.handoff_in').length, 0, 'nothing to hand over: it was released')
    await c.close()
  })

  t.test('an owner that is not listening: the init is answered unavailable with the rest of its lease', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const b = await clusterHost(t, redis, key, 'ghost-b')
    // A lease held by a host that is gone (no subscriber on its channel).
    await b.server.ctx.cluster!.leases.acquire('haunted')
    const lease = b.server.ctx.cluster!.leases.get('haunted')!
    b.server.ctx.cluster!.leases.forget('haunted')
    const { sessionKeys } = await import('../../src/cluster/scripts.js')
    const redisCli = await import('@redis/client')
    const raw = redisCli.createClient({ url: redis.url })
    await raw.connect()
    t.teardown(() => raw.close())
    await raw.set(sessionKeys('haunted').lease, `ghost|${lease.epoch}`, { PX: 60_000 })
    const c = await SessionClient.connect(b.url, { reconnect: { enabled: false } })
    t.teardown(() => c.close())
    const err = (await c.openSession('haunted', { timeoutMs: 800 }).catch((e: unknown) => e)) as HostError
    t.equal(err.code, 'unavailable')
    t.ok((err.retryAfterMs ?? 0) > 30_000, `retry after the rest of the lease (${err.retryAfterMs} ms)`)
  })

  t.test('start-up: a Redis that is down leaves the host running, not ready, until it comes', async (t) => {
    const redis = await startRedisServer(t)
    await redis.stop()
    const host = await startHost(t, {}, { secretKey: nacl.box.keyPair().secretKey, env: { CLUSTER_REDIS_URL: redis.url, NODE_ID: 'late' } })
    await host.log.waitFor('cluster.redis_unreachable')
    const res = await fetch(`${host.url}/ready`)
    t.equal(res.status, 503, 'not ready while Redis is down')
    t.match(await res.json(), { reason: 'journal_unwritable' })
    let joined = false
    void host.server.joined.then(() => (joined = true))
    t.equal(joined, false)
    await redis.start()
    await host.server.joined
    t.equal((await fetch(`${host.url}/ready`)).status, 200, 'ready once Redis is reached')
  })

  t.test('start-up: a malformed CLUSTER_REDIS_URL and refused credentials name the setting', async (t) => {
    const { checkRedisUrl } = await import('../../src/cluster/redis-link.js')
    t.throws(() => checkRedisUrl('redis://host:6379/zero'), /CLUSTER_REDIS_URL: the path must be a database number/)
    t.throws(() => checkRedisUrl('redis://'), /CLUSTER_REDIS_URL/)
    t.throws(() => checkRedisUrl('http://x'), /must start with redis:\/\//)
    t.ok(checkRedisUrl('rediss://user:pw@cache.example:6380/2'))
    const redis = await startRedisServer(t, { password: 'right-password' })
    const wrong = redis.url.replace('right-password', 'wrong-password')
    const host = await startHost(t, {}, { secretKey: nacl.box.keyPair().secretKey, env: { CLUSTER_REDIS_URL: wrong, NODE_ID: 'auth' } })
    const err = (await host.server.joined.catch((e: unknown) => e)) as Error
    t.match(err.message, /CLUSTER_REDIS_URL: Redis refused the credentials \(WRONGPASS\)/)
    const ok = await clusterHost(t, redis, nacl.box.keyPair().secretKey, 'auth-ok')
    t.equal((await fetch(`${ok.url}/ready`)).status, 200, 'the right password joins')
  })
}
