// deploy/nginx.conf, as operators run it (only the lines it says to edit
// changed), in front of three real host processes sharing one identity key:
// connections for one session_id stick to one host, different ids spread,
// the client address reaches the host through X-Forwarded-For, and an SDK
// session works through it. Which host took a connection is read from the
// hosts' own logs (connection.opened with `route_hint`), as in balancer.test.ts.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import WebSocket from 'ws'
import { SessionClient } from '@rag-session-host/client'
import { onPath } from '../helpers/cluster-tools.js'
import { startHostProcess, type HostProcess } from '../helpers/host-process.js'
import { startNginx, type Nginx } from '../helpers/nginx.js'

/** Why nginx cannot run here, or undefined. */
function nginxUnavailable(): string | undefined {
  return onPath('nginx') ? undefined : 'no nginx on PATH: install it with `apt-get install -y nginx` (it lives in /usr/sbin: keep it on PATH) to run the nginx test'
}

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Opens a WebSocket through nginx and resolves with the index of the host that logged it. */
async function landOn(t: Teardown, hosts: HostProcess[], nginx: Nginx, id: string, opts: WebSocket.ClientOptions = {}): Promise<{ host: number; remote: unknown }> {
  const marks = hosts.map((h) => h.lines.length)
  const ws = new WebSocket(`${nginx.wsUrl}/v1/ws?session_id=${encodeURIComponent(id)}`, { handshakeTimeout: 5000, ...opts })
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
  const found = await Promise.any(
    hosts.map((h, i) => h.waitFor('connection.opened', (l) => h.lines.indexOf(l) >= marks[i]! && l.route_hint === id, 10_000).then((line) => ({ host: i, remote: line.remote }))),
  )
  ws.close()
  return found
}

const missing = nginxUnavailable()
if (missing && process.env.REQUIRE_CLUSTER === '1') {
  t.fail(`REQUIRE_CLUSTER=1 but ${missing}`)
} else if (missing) {
  process.stderr.write(`\n*** SKIPPED nginx test: ${missing} ***\n\n`)
  t.test('nginx (deploy/nginx.conf) in front of three hosts', { skip: missing }, () => undefined)
} else {
  t.test('nginx (deploy/nginx.conf) in front of three hosts', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'rsh-nginx-cluster-'))
    t.teardown(() => rmSync(home, { recursive: true, force: true }))
    const secretKey = nacl.box.keyPair().secretKey
    const env = { PERSIST: 'false', TRUST_PROXY: 'true' }
    const hosts = await Promise.all([1, 2, 3].map((n) => startHostProcess(t, { dataDir: mkdtempSync(join(home, `host${n}-`)), secretKey, env })))
    const nginx = await startNginx(t, hosts.map((h) => new URL(h.url).host) as [string, string, string])

    const sticky: number[] = []
    for (let n = 0; n < 6; n++) sticky.push((await landOn(t, hosts, nginx, 'sticky-nginx')).host)
    t.same(sticky, Array(6).fill(sticky[0]), 'every connection for one session_id on the same host')

    const placed = new Set<number>()
    for (let n = 0; n < 12; n++) {
      const id = `spread-nginx-${n}`
      const first = await landOn(t, hosts, nginx, id)
      t.equal((await landOn(t, hosts, nginx, id)).host, first.host, `${id} sticks`)
      placed.add(first.host)
    }
    t.ok(placed.size > 1, `12 session ids on ${placed.size} hosts`)

    const { remote } = await landOn(t, hosts, nginx, 'xff-nginx', { localAddress: '127.0.0.2' })
    t.equal(remote, '127.0.0.2', 'the client address, from the X-Forwarded-For nginx wrote')

    // Not pinned: the SDK reads the key through nginx, as a user's client does; it sends the hint itself.
    const client = await SessionClient.connect(nginx.url)
    t.teardown(() => client.close())
    t.equal((await client.openSession('sdk-through-nginx')).created, true)
    await client.appendMessage('user', 'through nginx')
    t.match((await client.getHistory()).messages, [{ role: 'user', content: 'through nginx' }])
  })
}
