// The admin API across a cluster, with two hosts in this process on a real
// redis-server: any host lists every host's sessions, shows, ends and evicts
// a session another host holds (the action runs and is logged there), sweeps
// every host, and describes the cluster; a lone host has no /cluster.
import t from 'tap'
import nacl from 'tweetnacl'
import { SessionClient, generateIdentity } from '@rag-session-host/client'
import { requireClusterTools } from '../helpers/cluster-tools.js'
import { startHost } from '../helpers/host.js'
import { startRedisServer } from '../helpers/redis-server.js'

const TOKEN = 'admin-token-for-the-cluster-tests-0123'
const auth = { authorization: `Bearer ${TOKEN}` }

if (requireClusterTools(t, 'cluster admin tests')) {
  t.test('one host answers for the cluster', async (t) => {
    const redis = await startRedisServer(t)
    const key = nacl.box.keyPair().secretKey
    const env = (node: string) => ({ CLUSTER_REDIS_URL: redis.url, NODE_ID: node, ADMIN_TOKEN: TOKEN })
    const a = await startHost(t, {}, { secretKey: key, env: env('adm-a') })
    const b = await startHost(t, {}, { secretKey: key, env: env('adm-b') })
    await Promise.all([a.server.joined, b.server.joined])
    const identity = generateIdentity()
    const onA = await SessionClient.connect(a.url, { identity, reconnect: { enabled: false } })
    const onB = await SessionClient.connect(b.url, { identity, reconnect: { enabled: false } })
    const idle = await SessionClient.connect(b.url, { identity, reconnect: { enabled: false } })
    t.teardown(() => Promise.all([onA.close(), onB.close(), idle.close()]))
    await onA.openSession('on-a')
    await onB.openSession('on-b')
    await idle.openSession('idle-b')
    await idle.close()

    const get = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${a.url}/v1/admin${path}`, { ...init, headers: { ...auth, ...(init.body ? { 'content-type': 'application/json' } : {}) } })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    const list = await get('/sessions')
    t.same(
      (list.body.sessions as { session_id: string; node_id: string }[]).map((s) => [s.session_id, s.node_id]),
      [
        ['on-a', 'adm-a'],
        ['on-b', 'adm-b'],
        ['idle-b', 'adm-b'],
      ],
      'every host, in seq order, each with its host',
    )
    t.same(list.body.unreachable_nodes, [])
    const page = await get('/sessions?limit=2')
    t.equal((page.body.sessions as unknown[]).length, 2)
    const rest = await get(`/sessions?limit=2&cursor=${String(page.body.next_cursor)}`)
    t.same(
      (rest.body.sessions as { session_id: string }[]).map((s) => s.session_id),
      ['idle-b'],
      'the cursor pages across hosts',
    )
    t.equal(rest.body.next_cursor, null)

    t.match(await get('/sessions/on-b'), { status: 200, body: { session_id: 'on-b', node_id: 'adm-b' } }, 'a session of another host, by id')
    t.match(await get('/sessions/nowhere'), { status: 404 }, 'on no host: 404')
    t.match(await get('/sessions/bad id'), { status: 400 })

    const ended = await get('/sessions/on-b/end', { method: 'POST' })
    t.match(ended, { status: 200, body: { status: 'ended', node_id: 'adm-b' } })
    await b.log.waitFor('admin.end', { session_id: 'on-b', outcome: 'ok' })
    t.equal(b.server.ctx.sessions.get('on-b')?.status, 'ended', 'ended where it lives')

    const swept = await get('/sweep', { method: 'POST', body: JSON.stringify({ idle_ms: 0 }) })
    t.match(swept, { status: 200, body: { abandoned: [{ session_id: 'idle-b', node_id: 'adm-b' }] } }, 'the sweep ran on the other host')

    const evicted = await get('/sessions/idle-b', { method: 'DELETE' })
    t.match(evicted, { status: 200, body: { dropped: 1, node_id: 'adm-b' } })
    t.equal(b.server.ctx.sessions.get('idle-b'), undefined)
    const again = await SessionClient.connect(a.url, { identity })
    t.teardown(() => again.close())
    t.equal((await again.openSession('idle-b')).created, true, 'evicted for good: its data left Redis too')

    const cluster = await get('/cluster')
    t.match(cluster.body, { node_id: 'adm-a', redis_reachable: true })
    t.same(
      (cluster.body.nodes as { node_id: string; alive: boolean; self: boolean }[]).map((n) => [n.node_id, n.alive, n.self]),
      [
        ['adm-a', true, true],
        ['adm-b', true, false],
      ],
    )
  })

  t.test('a lone host has no cluster view', async (t) => {
    const lone = await startHost(t, {}, { env: { ADMIN_TOKEN: TOKEN } })
    const res = await fetch(`${lone.url}/v1/admin/cluster`, { headers: auth })
    t.equal(res.status, 404)
  })
}
