// deploy/haproxy.cfg, as operators run it, in front of three real host
// processes sharing one identity key: connections for one session_id stick to
// one host, different ids spread, hint-less ones are balanced anyway, the
// client address reaches the host (and a forged one does not), an SDK session
// works through it, and when a host dies or hangs HAProxy takes it out of
// rotation (closing its tunnels) and its sessions land on a live host.
//
// Which host took a connection is read from the hosts' own logs: each logs
// connection.opened with `route_hint`, the session_id of the upgrade URL.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import WebSocket from 'ws'
import { SessionClient } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { requireClusterTools } from '../helpers/cluster-tools.js'
import { startHaproxy, SERVER_NAMES, type Haproxy } from '../helpers/haproxy.js'
import { startHostProcess, type HostProcess, type LogLine } from '../helpers/host-process.js'
import { within } from '../helpers/wait.js'

interface Cluster {
  hosts: HostProcess[]
  haproxy: Haproxy
}

interface Teardown {
  teardown(fn: () => unknown): void
  passing?(): boolean
  comment?(...args: unknown[]): void
}

/** Three standalone hosts with one identity, and HAProxy in front of them. */
async function startCluster(t: Teardown): Promise<Cluster> {
  const home = mkdtempSync(join(tmpdir(), 'rsh-cluster-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  // One key for all: a client sees one public key whichever host GET /v1/host reaches.
  const secretKey = nacl.box.keyPair().secretKey
  const env = {
    PERSIST: 'false',
    // The client address comes from HAProxy's X-Forwarded-For.
    TRUST_PROXY: 'true',
    // A stopped and resumed host (below) has seen seconds of event-loop delay; the test is about routing, not pressure.
    READY_MAX_EVENT_LOOP_DELAY_MS: '0',
  }
  const hosts = await Promise.all([1, 2, 3].map((n) => startHostProcess(t, { dataDir: mkdtempSync(join(home, `host${n}-`)), secretKey, env })))
  const backends = hosts.map((h) => new URL(h.url).host) as [string, string, string]
  const haproxy = await startHaproxy(t, { backends })
  await haproxy.waitForAllUp()
  return { hosts, haproxy }
}

/** Opens a WebSocket; resolves once the upgrade got its 101, rejects with the status otherwise. Terminated at teardown. */
function openWs(t: Teardown, url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5000, ...opts })
    t.teardown(() => ws.terminate())
    let status: number | undefined
    ws.once('upgrade', (res) => (status = res.statusCode))
    ws.once('open', () => (status === 101 ? resolve(ws) : reject(new Error(`opened with status ${status}`))))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

interface Landed {
  ws: WebSocket
  /** Index of the host (0..2, host1..host3 in HAProxy) that logged the connection. */
  host: number
  line: LogLine
}

/** A line named `name` that `match` accepts, logged by one of `hosts` after `marks` (their log lengths before). */
async function nextLineOnAnyHost(hosts: HostProcess[], marks: number[], name: string, match: (l: LogLine) => boolean): Promise<{ host: number; line: LogLine }> {
  try {
    // The first host to log it; a host that is dead (or dies meanwhile) rejects, and is simply not the one.
    // The others' waits end at their timeout or when teardown ends their process.
    return await Promise.any(hosts.map((h, i) => h.waitFor(name, (l) => h.lines.indexOf(l) >= marks[i]! && match(l), 10_000).then((line) => ({ host: i, line }))))
  } catch (err) {
    throw new Error(`no host logged ${name}: ${(err as AggregateError).errors?.map((e: Error) => e.message).join('; ')}`)
  }
}

/** Connects through the balancer with the hint `id` (or none) and finds the host that took the connection. */
async function connectVia(t: Teardown, cluster: Cluster, id: string | undefined, opts: WebSocket.ClientOptions = {}): Promise<Landed> {
  const { hosts, haproxy } = cluster
  const marks = hosts.map((h) => h.lines.length)
  const query = id === undefined ? '' : `?session_id=${encodeURIComponent(id)}`
  const ws = await openWs(t, `${haproxy.wsUrl}/v1/ws${query}`, opts)
  const { host, line } = await nextLineOnAnyHost(hosts, marks, 'connection.opened', (l) => l.route_hint === id)
  return { ws, host, line }
}

/** Resolves once `ws` is closed (by the other side, here). */
function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => ws.once('close', () => resolve()))
}

if (requireClusterTools(t)) {
  t.test('HAProxy (deploy/haproxy.cfg) in front of three hosts', async (t) => {
    const cluster = await startCluster(t)
    const { hosts, haproxy } = cluster
    t.same(
      (await haproxy.serverStates()).map((s) => [s.name, s.addr]),
      hosts.map((h, i) => [SERVER_NAMES[i], new URL(h.url).host]),
      'RSH_HOST1..3 became host1..host3',
    )
    const STICKY = 'sticky-session-x'
    let stickyHost = -1
    const spread = new Map<string, number>()

    t.test('every connection for one session_id lands on the same host', async (t) => {
      const seen: number[] = []
      for (let n = 0; n < 6; n++) {
        const { ws, host } = await connectVia(t, cluster, STICKY)
        seen.push(host)
        ws.close()
      }
      stickyHost = seen[0]!
      t.same(seen, Array(6).fill(stickyHost), `all six on ${SERVER_NAMES[stickyHost]}`)
      t.same(
        hosts.map((h) => h.events('connection.opened').filter((l) => l.route_hint === STICKY).length),
        hosts.map((_, i) => (i === stickyHost ? 6 : 0)),
        'and none anywhere else',
      )
    })

    t.test('different session_ids spread over the hosts, each one sticky', async (t) => {
      for (let n = 0; n < 12; n++) {
        const id = `spread-${n}`
        const first = await connectVia(t, cluster, id)
        const again = await connectVia(t, cluster, id)
        t.equal(again.host, first.host, `${id} again on ${SERVER_NAMES[first.host]}`)
        spread.set(id, first.host)
        first.ws.close()
        again.ws.close()
      }
      const used = new Set(spread.values())
      t.comment(`placement: ${[...spread].map(([id, h]) => `${id}→${SERVER_NAMES[h]}`).join(' ')}`)
      t.ok(used.size > 1, `12 ids on ${used.size} hosts`)
    })

    t.test('connections without session_id are balanced round robin', async (t) => {
      const used = new Set<number>()
      for (let n = 0; n < 9; n++) {
        const { ws, host, line } = await connectVia(t, cluster, undefined)
        t.equal(line.route_hint, undefined)
        used.add(host)
        ws.close()
      }
      t.ok(used.size > 1, `9 hint-less connections on ${used.size} hosts`)
    })

    t.test('the host sees the client address from X-Forwarded-For, never a forged one', async (t) => {
      // From 127.0.0.2: HAProxy itself reaches the host from 127.0.0.1, so only its header can say .2.
      const { ws, line } = await connectVia(t, cluster, 'xff-check', { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.7' } })
      t.equal(line.remote, '127.0.0.2', 'the client address, from the X-Forwarded-For HAProxy wrote')
      ws.close()
    })

    t.test('an SDK session through the balancer, end to end', async (t) => {
      const key = encodeBase64(hosts[0]!.hostPublicKey)
      for (let n = 0; n < 3; n++) {
        const info = (await (await fetch(`${haproxy.url}/v1/host`)).json()) as { public_key: string }
        t.equal(info.public_key, key, 'GET /v1/host: one key whichever host answers')
      }
      const marks = hosts.map((h) => h.lines.length)
      // Not pinned: the SDK reads the key through the balancer, as a user's client does.
      const client = await SessionClient.connect(haproxy.url)
      t.teardown(() => client.close())
      const opened = await client.openSession('sdk-through-haproxy')
      t.equal(opened.created, true)
      const { host } = await nextLineOnAnyHost(hosts, marks, 'session.created', (l) => l.session_id === 'sdk-through-haproxy')
      t.comment(`the SDK session lives on ${SERVER_NAMES[host]}`)
      t.same(await client.appendMessage('user', 'hello through haproxy'), { seq: 1, attempt: 1 })
      await client.uploadVectors([
        { id: 'a', vector: [1, 0, 0], metadata: { tag: 'x' } },
        { id: 'b', vector: [0, 1, 0], metadata: { tag: 'y' } },
      ])
      const { results } = await client.searchVectors([0.9, 0.1, 0], { k: 1 })
      t.same(
        results.map((r) => r.id),
        ['a'],
      )
      t.same(
        (await client.getHistory()).messages.map((m) => m.content),
        ['hello through haproxy'],
      )
      t.equal((await client.sessionInfo()).connections, 1)
      t.equal((await client.endSession()).status, 'ended')
    })

    t.test('a killed host is marked DOWN; its sessions land on a live host, the others stay', async (t) => {
      t.not(stickyHost, -1, 'the sticky test found its host')
      const victim = hosts[stickyHost]!
      const name = SERVER_NAMES[stickyHost]!
      const { ws } = await connectVia(t, cluster, STICKY)
      const wsClosed = closed(ws)
      victim.killGroup('SIGKILL')
      t.equal((await victim.exited).signal, 'SIGKILL')
      await within(wsClosed, 5000, 'the tunnel to the killed host closing')
      const states = await haproxy.waitForServer(name, 'DOWN')
      t.notOk(states.find((s) => s.name === name)!.up, `${name} is out of rotation`)

      const moved = await connectVia(t, cluster, STICKY)
      t.not(moved.host, stickyHost, `${STICKY} now lands on live ${SERVER_NAMES[moved.host]}`)
      moved.ws.close()
      for (const [id, before] of spread) {
        const now = await connectVia(t, cluster, id)
        if (before === stickyHost) t.not(now.host, stickyHost, `${id} moved off ${name}`)
        else t.equal(now.host, before, `${id} stays on ${SERVER_NAMES[before]} (consistent hashing)`)
        now.ws.close()
      }
    })

    t.test('a hung host is marked DOWN and its tunnels are shut (on-marked-down shutdown-sessions)', async (t) => {
      const live = [0, 1, 2].filter((i) => i !== stickyHost)
      // A hint placed on a live host, the other live host being where it must move.
      const id = [...spread].find(([, h]) => h === live[0])?.[0] ?? [...spread].find(([, h]) => h === live[1])?.[0]
      if (id === undefined) {
        t.fail('no spread id on a live host')
        return
      }
      const opened = await connectVia(t, cluster, id)
      const hung = opened.host
      const name = SERVER_NAMES[hung]!
      const wsClosed = closed(opened.ws)
      t.ok((await haproxy.server(name)).sessions >= 1, 'HAProxy holds the tunnel')
      // SIGSTOP: the host keeps its sockets open and answers nothing, /ready checks time out.
      hosts[hung]!.killGroup('SIGSTOP')
      t.teardown(() => hosts[hung]!.killGroup('SIGCONT'))
      await haproxy.waitForServer(name, 'DOWN')
      await within(wsClosed, 5000, 'HAProxy closing the tunnel to the host it marked down')
      t.pass(`the client's WebSocket to ${name} was closed by HAProxy, so it can reconnect elsewhere`)
      const moved = await connectVia(t, cluster, id)
      t.not(moved.host, hung, `${id} reconnects to ${SERVER_NAMES[moved.host]}`)
      moved.ws.close()

      hosts[hung]!.killGroup('SIGCONT')
      await haproxy.waitForServer(name, 'UP')
      const back = await connectVia(t, cluster, id)
      t.equal(back.host, hung, `${id} is back on ${name} once it passes its checks again`)
      back.ws.close()
    })
  })
}
