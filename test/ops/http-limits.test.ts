// Operator switches on the HTTP side: the per-address rate limit
// (HTTP_RATE_LIMIT_MAX) on /v1/host and on the WebSocket upgrade, and
// METRICS_ENABLED=false. Set by their environment names, as operators do.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity, tryUpgrade } from '../helpers/wire.js'

t.test('HTTP rate limit: 429 on /v1/host and on the upgrade; health checks and open sockets are not limited', async (t) => {
  const host = await startHost(t, {}, { env: { HTTP_RATE_LIMIT_MAX: '3' } })
  const open = await Wire.open(host.wsUrl, host.hostPublicKey) // 1: the upgrade counts
  await open.init({ sessionId: 'limited', identity: generateIdentity() })
  t.equal((await fetch(`${host.url}/v1/host`)).status, 200) // 2
  t.equal((await fetch(`${host.url}/v1/host`)).status, 200) // 3
  const limited = await fetch(`${host.url}/v1/host`)
  t.equal(limited.status, 429, 'the fourth request in the minute is refused')
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'with a Retry-After')
  t.equal(limited.headers.get('x-ratelimit-limit'), '3')
  const body = (await limited.json()) as Record<string, unknown>
  t.equal(body.statusCode, 429)
  t.notOk('public_key' in body, 'no host info in the refusal')
  const upgrade = await tryUpgrade(host.wsUrl)
  t.equal(upgrade.status, 429, 'so is a WebSocket upgrade')
  t.ok(Number(upgrade.headers['retry-after']) > 0)
  t.equal(host.server.ctx.connections.size, 1, 'no connection was made')

  // Not limited: liveness, readiness, metrics, and what runs on a socket already open.
  for (let i = 0; i < 5; i++) {
    t.equal((await fetch(`${host.url}/health`)).status, 200)
    t.equal((await fetch(`${host.url}/ready`)).status, 200)
  }
  t.equal((await fetch(`${host.url}/metrics`)).status, 200)
  t.equal((await open.request('ping')).ok, true, 'the open connection carries on')
})

t.test('HTTP_RATE_LIMIT_MAX=0 turns the limit off', async (t) => {
  const host = await startHost(t, {}, { env: { HTTP_RATE_LIMIT_MAX: '0' } })
  for (let i = 0; i < 5; i++) t.equal((await fetch(`${host.url}/v1/host`)).status, 200)
  t.equal((await tryUpgrade(host.wsUrl)).status, 101)
})

t.test('METRICS_ENABLED=false: /metrics is 404, the host works as before', async (t) => {
  const host = await startHost(t, {}, { env: { METRICS_ENABLED: 'false' } })
  t.equal(host.config.metricsEnabled, false)
  const metrics = await fetch(`${host.url}/metrics`)
  t.equal(metrics.status, 404)
  t.notMatch(await metrics.text(), /rsh_/, 'no metric text')
  t.equal((await fetch(`${host.url}/v1/host`)).status, 200)
  t.equal((await fetch(`${host.url}/health`)).status, 200)
  t.equal((await fetch(`${host.url}/ready`)).status, 200)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { info } = await wire.init({ sessionId: 'quiet', identity: generateIdentity() })
  t.equal(info?.created, true)
  t.equal((await wire.request('appendMessage', { role: 'user', content: 'hello' })).seq, 1)
  t.equal((await wire.request('ping')).ok, true)
})
