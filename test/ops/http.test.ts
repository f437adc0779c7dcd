// HTTP endpoints and the host identity's persistence.
import t from 'tap'
import { mkdtempSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { loadHostIdentity, HOST_KEY_FILE } from '../../src/crypto/host-identity.js'
import { decodeBase64, encodeBase64 } from '@rag-session-host/client/shared'
import { VERSION } from '../../src/version.js'
import { startHost } from '../helpers/host.js'
import { busyWire } from '../helpers/busy.js'
import { Wire, generateIdentity, tryUpgrade } from '../helpers/wire.js'

t.test('GET /v1/host follows the contract', async (t) => {
  const host = await startHost(t)
  const res = await fetch(`${host.url}/v1/host`)
  t.equal(res.status, 200)
  const body = (await res.json()) as Record<string, any>
  t.equal(body.protocol, 1)
  t.equal(body.version, VERSION)
  t.match(body.version, /^\d+\.\d+\.\d+/)
  t.same(decodeBase64(body.public_key, 32), host.hostPublicKey)
  for (const k of ['max_sessions', 'max_frame_bytes', 'max_batch', 'max_vectors_per_session', 'max_dims', 'max_k', 'max_metadata_bytes', 'max_message_chars']) {
    t.type(body.limits[k], 'number', k)
  }
  t.equal(body.limits.max_frame_bytes, 16 * 1024 * 1024)
  t.equal(body.limits.max_batch, 1000)
})

t.test('health, readiness and metrics', async (t) => {
  const host = await startHost(t)
  t.same(await (await fetch(`${host.url}/health`)).json(), { status: 'ok' })
  const ready = await fetch(`${host.url}/ready`)
  t.equal(ready.status, 200)
  t.equal(((await ready.json()) as any).status, 'ready')
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'm', identity: generateIdentity() })
  await w.request('ping')
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_connections 1/)
  t.match(metrics, /rsh_sessions\{status="active"\} 1/)
  t.match(metrics, /rsh_session_inits_total\{outcome="ok"\} 1/)
  t.match(metrics, /rsh_requests_total\{op="ping",outcome="ok"\} 1/)
  t.match(metrics, /nodejs_eventloop_lag_p99_seconds/)
})

t.test('a host that is shutting down refuses WebSocket upgrades with 503 while it drains', async (t) => {
  const host = await startHost(t)
  // A connection with frames still to answer holds the host in its drain: not ready, still listening.
  // Five searches: enough to outlast two local requests, far from the 3 s drain cap when another test loads the CPU.
  const busy = await busyWire(host, { searches: 5 })
  const closing = host.server.close()
  const ready = await fetch(`${host.url}/ready`)
  t.equal(ready.status, 503)
  t.equal(ready.headers.get('retry-after'), '1', '/ready says when to ask again')
  t.same(await ready.json(), { status: 'not_ready', reason: 'shutting_down' })
  const refused = await tryUpgrade(host.wsUrl)
  t.equal(refused.status, 503, 'the upgrade is refused')
  t.same(refused.body, { error: 'not_ready', reason: 'shutting_down' })
  t.equal(refused.headers['retry-after'], '1')
  for (const id of busy.queued) t.equal(busy.wire.open(await busy.wire.reply(id)).ok, true, 'frames received before the shutdown are answered')
  await closing
})

t.test('too many connections: upgrade refused', async (t) => {
  const host = await startHost(t, { maxConnections: 1 })
  const first = await Wire.open(host.wsUrl, host.hostPublicKey)
  const refused = await tryUpgrade(host.wsUrl)
  t.equal(refused.status, 503)
  t.same(refused.body, { error: 'too_many_connections' })
  t.equal(refused.headers['retry-after'], '1')
  t.match(await (await fetch(`${host.url}/metrics`)).text(), /rsh_upgrades_refused_total\{reason="too_many_connections"\} 1/, 'counted by reason')
  await first.close()
  await host.log.waitFor('connection.closed')
  t.equal((await tryUpgrade(host.wsUrl)).status, 101, 'a freed slot takes the next connection')
})

t.test('host identity: generated once (0600), reused, overridden by HOST_SECRET_KEY', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-id-'))
  const first = loadHostIdentity({ secretKeyBase64: undefined, dataDir: join(dir, 'nested') })
  t.equal(first.source, 'generated')
  const file = join(dir, 'nested', HOST_KEY_FILE)
  t.equal(statSync(file).mode & 0o777, 0o600)
  const second = loadHostIdentity({ secretKeyBase64: undefined, dataDir: join(dir, 'nested') })
  t.equal(second.source, 'file')
  t.equal(second.publicKeyBase64, first.publicKeyBase64, 'same key on every later start')
  const kp = nacl.box.keyPair()
  const env = loadHostIdentity({ secretKeyBase64: encodeBase64(kp.secretKey), dataDir: join(dir, 'nested') })
  t.equal(env.source, 'env')
  t.equal(env.publicKeyBase64, encodeBase64(kp.publicKey))
  t.notOk(readFileSync(file, 'utf8').includes(encodeBase64(kp.secretKey)), 'the env key is never written')
})

t.test('VERSION, package.json and the CHANGELOG agree', async (t) => {
  const { readFileSync: read } = await import('node:fs')
  const pkg = JSON.parse(read(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  t.equal(pkg.version, VERSION)
  t.match(read(new URL('../../CHANGELOG.md', import.meta.url), 'utf8'), new RegExp(`^## ${VERSION.replaceAll('.', '\\.')} `, 'm'), 'the CHANGELOG has an entry for this version')
})
