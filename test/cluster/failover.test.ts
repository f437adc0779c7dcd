// Three real host processes in cluster mode on a real redis-server, behind
// HAProxy running deploy/haproxy.cfg, driven by SDK clients (which send the
// routing hint): a host killed under a write load, a host paused past its
// lease, a host drained by SIGTERM, and the admin API of one host acting on a
// session another host owns. Nothing acknowledged may be lost.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { SessionClient, generateIdentity, type HostError, type Identity } from '@rag-session-host/client'
import { requireClusterTools } from '../helpers/cluster-tools.js'
import { startHaproxy, type Haproxy } from '../helpers/haproxy.js'
import { startHostProcess, type HostProcess } from '../helpers/host-process.js'
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js'

interface Teardown {
  teardown(fn: () => unknown): void
  passing?(): boolean
  comment?(...args: unknown[]): void
}

const ADMIN_TOKEN = 'cluster-admin-token-0123456789abcdef'

interface Cluster {
  redis: RedisServer
  hosts: HostProcess[]
  haproxy: Haproxy
}

async function startCluster(t: Teardown, env: Record<string, string> = {}): Promise<Cluster> {
  const home = mkdtempSync(join(tmpdir(), 'rsh-failover-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const redis = await startRedisServer(t)
  const secretKey = nacl.box.keyPair().secretKey
  const hosts = await Promise.all(
    [1, 2, 3].map((n) =>
      startHostProcess(t, {
        dataDir: mkdtempSync(join(home, `host${n}-`)),
        secretKey,
        env: {
          CLUSTER_REDIS_URL: redis.url,
          NODE_ID: `host${n}`,
          CLUSTER_LEASE_MS: '3000',
          CLUSTER_HOLD_MS: '0',
          TRUST_PROXY: 'true',
          // A paused and resumed host has seen seconds of event-loop delay; these tests are about ownership.
          READY_MAX_EVENT_LOOP_DELAY_MS: '0',
          ADMIN_TOKEN,
          ...env,
        },
      }),
    ),
  )
  await Promise.all(hosts.map((h) => h.waitFor('cluster.joined')))
  const haproxy = await startHaproxy(t, { backends: hosts.map((h) => new URL(h.url).host) as [string, string, string] })
  await haproxy.waitForAllUp()
  return { redis, hosts, haproxy }
}

/** The host whose log says it created or loaded `sessionId` last (a session may move after it was created: hand-offs). */
function ownerOf(hosts: HostProcess[], sessionId: string): number {
  let owner = -1
  let at = ''
  hosts.forEach((h, i) => {
    for (const l of h.lines) {
      if ((l.event === 'session.created' || l.event === 'cluster.session_loaded') && l.session_id === sessionId && String(l.time) >= at) {
        owner = i
        at = String(l.time)
      }
    }
  })
  return owner
}

async function history(url: string, identity: Identity, sessionId: string): Promise<string[]> {
  const c = await SessionClient.connect(url, { identity, requestTimeoutMs: 20_000 })
  try {
    await c.openSession(sessionId)
    return (await c.getHistory()).messages.map((m) => m.content)
  } finally {
    await c.close()
  }
}

if (requireClusterTools(t, 'cluster failover tests')) {
  t.test('SIGKILL of a host under a write load: its sessions continue elsewhere after the lease, with every acknowledged change', async (t) => {
    const { hosts, haproxy } = await startCluster(t)
    const identity = generateIdentity()
    const ids = Array.from({ length: 6 }, (_, i) => `load-${i}`)
    const clients = await Promise.all(ids.map((id) => SessionClient.connect(haproxy.url, { identity, requestTimeoutMs: 20_000, routeHint: id })))
    t.teardown(() => Promise.all(clients.map((c) => c.close())))
    await Promise.all(clients.map((c, i) => c.openSession(ids[i]!)))

    const acked = new Map<string, string[]>(ids.map((id) => [id, []]))
    let warm: () => void = () => undefined
    // Once every session has acknowledged a few writes, the owner dies.
    const warmed = new Promise<void>((resolve) => (warm = resolve))
    let killed = false
    let afterKill = 0
    const writer = async (c: SessionClient, id: string): Promise<void> => {
      for (let n = 0; n < 400 && afterKill < 60; n++) {
        const content = `${id}#${n}`
        try {
          await c.appendMessage('user', content)
          acked.get(id)!.push(content)
          if (killed) afterKill++
          if ([...acked.values()].every((a) => a.length >= 5)) warm()
        } catch (err) {
          // A request cut by the kill: unacknowledged, so it may or may not be stored. The SDK reconnects meanwhile.
          if ((err as HostError).code !== 'disconnected' && (err as HostError).code !== 'timeout' && (err as HostError).code !== 'unavailable') throw err
        }
      }
    }
    const writing = Promise.all(clients.map((c, i) => writer(c, ids[i]!)))
    await warmed
    // The host with the most sessions dies.
    const owners = ids.map((id) => ownerOf(hosts, id))
    const victim = [0, 1, 2].sort((a, b) => owners.filter((o) => o === b).length - owners.filter((o) => o === a).length)[0]!
    const moved = ids.filter((_, i) => owners[i] === victim)
    t.ok(moved.length > 0, `host${victim + 1} owns ${moved.join(', ')}`)
    hosts[victim]!.killGroup('SIGKILL')
    killed = true
    await hosts[victim]!.exited
    await writing
    t.ok(afterKill > 0, `${afterKill} writes acknowledged after the kill`)
    const survivors = hosts.filter((_, i) => i !== victim)
    const takeovers = survivors.flatMap((h) => h.events('cluster.takeover')).map((l) => l.session_id)
    t.same(new Set(takeovers), new Set(moved), 'each of its sessions was taken over after its lease')

    for (const id of ids) {
      const stored = await history(haproxy.url, identity, id)
      const missing = acked.get(id)!.filter((m) => !stored.includes(m))
      t.same(missing, [], `${id}: every acknowledged message is stored (${acked.get(id)!.length})`)
      const order = acked.get(id)!.map((m) => stored.indexOf(m))
      t.same(
        order,
        [...order].sort((a, b) => a - b),
        `${id}: in the order acknowledged`,
      )
    }
  })

  t.test('SIGSTOP of an owner past its lease, a takeover, SIGCONT: its late write is refused and never stored, its client is told', async (t) => {
    const { hosts } = await startCluster(t)
    const [a, b, c] = hosts as [HostProcess, HostProcess, HostProcess]
    const identity = generateIdentity()
    const first = await SessionClient.connect(a.url, { identity, reconnect: { enabled: false }, requestTimeoutMs: 30_000 })
    t.teardown(() => first.close())
    await first.openSession('paused')
    await first.appendMessage('user', 'a1')
    const notices: unknown[] = []
    first.on('notice', (n) => notices.push(n))
    const dropped = new Promise<void>((resolve) => first.once('disconnected', () => resolve()))

    a.kill('SIGSTOP')
    t.teardown(() => a.kill('SIGCONT'))
    // Sent now, read by the paused host only once it runs again.
    const late = first.appendMessage('user', 'late').then(
      () => 'acknowledged',
      (e: HostError) => e.code,
    )
    // No reconnect: when host c loads the session below, this client must not pull it back to b (its reads would then see 1012).
    const second = await SessionClient.connect(b.url, { identity, requestTimeoutMs: 30_000, reconnect: { enabled: false } })
    t.teardown(() => second.close())
    // Answered `unavailable` (retried by the SDK) until a's lease has run out, then taken over.
    await second.openSession('paused')
    await b.waitFor('cluster.takeover', { session_id: 'paused' })
    await second.appendMessage('user', 'b1')

    a.kill('SIGCONT')
    t.not(await late, 'acknowledged', `the late write is refused (${await late})`)
    t.match(notices, [{ status: 'evicted', reason: 'moved' }], 'its client is told the session moved')
    await dropped
    t.pass('and it drops that connection, to reconnect')
    await a.waitFor('cluster.lease_lost', { session_id: 'paused' })

    // A third host loads the session from Redis: exactly what was acknowledged, nothing of the late write.
    t.same(await history(c.url, identity, 'paused'), ['a1', 'b1'])
  })

  t.test('SIGTERM drain hands sessions over without waiting for the lease', async (t) => {
    const { hosts, haproxy } = await startCluster(t, { CLUSTER_LEASE_MS: '60000' })
    const identity = generateIdentity()
    const client = await SessionClient.connect(haproxy.url, { identity, requestTimeoutMs: 20_000 })
    t.teardown(() => client.close())
    await client.openSession('drained')
    await client.uploadVectors([{ id: 'v', vector: [1, 0, 0, 0], metadata: { kept: true } }])
    await client.appendMessage('user', 'before')
    const owner = hosts[ownerOf(hosts, 'drained')]!
    const reconnected = new Promise<void>((resolve) => client.once('reconnected', () => resolve()))
    const t0 = Date.now()
    owner.kill('SIGTERM')
    await owner.waitFor('cluster.drained', (l) => (l.released as number) >= 1)
    await reconnected
    t.equal((await client.appendMessage('user', 'after')).seq, 2, 'the session goes on on another host')
    const elapsed = Date.now() - t0
    t.ok(elapsed < 60_000 / 2, `moved in ${elapsed} ms, far less than the 60 s lease`)
    const others = hosts.filter((h) => h !== owner)
    t.equal(others.flatMap((h) => h.events('cluster.takeover')).length, 0, 'released, not taken over')
    t.equal((await owner.exited).code, 0)
    t.same((await client.searchVectors([1, 0, 0, 0], { k: 1 })).results[0]?.metadata, { kept: true })
  })

  t.test('the admin API of any host lists every host and acts on sessions another host owns', async (t) => {
    const { hosts, haproxy } = await startCluster(t)
    const identity = generateIdentity()
    const ids = ['adm-0', 'adm-1', 'adm-2', 'adm-3', 'adm-4', 'adm-5']
    const clients = await Promise.all(ids.map(() => SessionClient.connect(haproxy.url, { identity, reconnect: { enabled: false } })))
    t.teardown(() => Promise.all(clients.map((c) => c.close())))
    await Promise.all(clients.map((c, i) => c.openSession(ids[i]!)))
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const asked = hosts[0]!
    const list = (await (await fetch(`${asked.url}/v1/admin/sessions`, { headers: auth })).json()) as { sessions: { session_id: string; node_id: string }[] }
    t.same(list.sessions.map((s) => s.session_id).sort(), ids, 'every session of every host')
    const seqs = list.sessions.map((s) => (s as unknown as { seq: number }).seq)
    t.same(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'in seq order',
    )
    for (const s of list.sessions) t.equal(s.node_id, `host${ownerOf(hosts, s.session_id) + 1}`, `${s.session_id} names its host`)

    const remote = list.sessions.find((s) => s.node_id !== 'host1')!
    const i = ids.indexOf(remote.session_id)
    const notice = new Promise((resolve) => clients[i]!.once('notice', resolve))
    const res = await fetch(`${asked.url}/v1/admin/sessions/${remote.session_id}`, { method: 'DELETE', headers: auth })
    t.equal(res.status, 200)
    t.match(await res.json(), { dropped: 1, node_id: remote.node_id })
    t.match(await notice, { status: 'evicted', reason: 'evicted_by_operator' })
    t.equal((await fetch(`${asked.url}/v1/admin/sessions/${remote.session_id}`, { headers: auth })).status, 404, 'gone from the cluster')

    // Another identity is refused through the balancer, wherever it lands.
    for (const id of ids.filter((id) => id !== remote.session_id).slice(0, 3)) {
      const thief = await SessionClient.connect(haproxy.url, { routeHint: id, reconnect: { enabled: false } })
      t.equal(((await thief.openSession(id).catch((e: unknown) => e)) as HostError).code, 'forbidden', `${id}: forbidden to another identity`)
      await thief.close()
    }

    const cluster = (await (await fetch(`${asked.url}/v1/admin/cluster`, { headers: auth })).json()) as { node_id: string; nodes: { node_id: string; alive: boolean }[] }
    t.equal(cluster.node_id, 'host1')
    t.same(
      cluster.nodes.map((n) => [n.node_id, n.alive]),
      [
        ['host1', true],
        ['host2', true],
        ['host3', true],
      ],
    )
  })
}
