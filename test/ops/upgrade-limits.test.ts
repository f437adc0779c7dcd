// The upgrade path of GET /v1/ws: MAX_CONNECTIONS_PER_IP (429 with
// Retry-After, counted per open WebSocket by client address, freed when a
// socket closes; with TRUST_PROXY the X-Forwarded-For address counts), and a
// plain GET answered 426 Upgrade Required. Real sockets on 127.0.0.1.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity, tryUpgrade } from '../helpers/wire.js'

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } })

t.test('MAX_CONNECTIONS_PER_IP: per client address (X-Forwarded-For with TRUST_PROXY), freed on close', async (t) => {
  const host = await startHost(t, {}, { env: { MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: 'true' } })
  const a1 = await Wire.open(host.wsUrl, host.hostPublicKey, from('203.0.113.1'))
  const a2 = await Wire.open(host.wsUrl, host.hostPublicKey, from('203.0.113.1'))
  const refused = await tryUpgrade(host.wsUrl, from('203.0.113.1'))
  t.equal(refused.status, 429, 'a third socket from the address is refused')
  t.same(refused.body, { error: 'too_many_connections_from_address' })
  t.ok(Number(refused.headers['retry-after']) > 0, `with a Retry-After (${String(refused.headers['retry-after'])})`)

  const line = await host.log.waitFor('connection.refused', { reason: 'too_many_connections_from_address' })
  t.equal(line.level, 'info')
  t.notOk(JSON.stringify(line).includes('203.0.113.1'), 'the refusal logs no address')
  const opened = host.log.events('connection.opened')
  t.same(
    opened.map((l) => l.remote),
    ['203.0.113.1', '203.0.113.1'],
    'connection.opened names the address as remote',
  )

  t.equal((await tryUpgrade(host.wsUrl, from('203.0.113.2'))).status, 101, 'another address is counted apart')
  await a1.init({ sessionId: 'capped', identity: generateIdentity() })
  t.equal((await a1.request('ping')).ok, true, 'the open sockets are served')

  await a2.close()
  await host.log.waitFor('connection.closed', { conn_id: opened[1]!.conn_id })
  const again = await Wire.open(host.wsUrl, host.hostPublicKey, from('203.0.113.1'))
  t.pass('a closed socket frees its slot')
  t.equal((await tryUpgrade(host.wsUrl, from('203.0.113.1'))).status, 429, 'and only that one')

  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_upgrades_refused_total\{reason="too_many_connections_from_address"\} 2/)
  await Promise.all([a1.close(), again.close()])
})

t.test('without TRUST_PROXY, X-Forwarded-For is ignored: every socket counts as the peer address', async (t) => {
  const host = await startHost(t, {}, { env: { MAX_CONNECTIONS_PER_IP: '1' } })
  const first = await Wire.open(host.wsUrl, host.hostPublicKey, from('203.0.113.1'))
  const refused = await tryUpgrade(host.wsUrl, from('203.0.113.2'))
  t.equal(refused.status, 429)
  t.same(refused.body, { error: 'too_many_connections_from_address' })
  await first.close()
})

t.test('MAX_CONNECTIONS_PER_IP=0: no per-address limit', async (t) => {
  const host = await startHost(t, {}, { env: { MAX_CONNECTIONS_PER_IP: '0' } })
  const wires = [await Wire.open(host.wsUrl, host.hostPublicKey), await Wire.open(host.wsUrl, host.hostPublicKey)]
  t.equal((await tryUpgrade(host.wsUrl)).status, 101)
  await Promise.all(wires.map((w) => w.close()))
})

t.test('a plain GET of /v1/ws answers 426 Upgrade Required, not 404', async (t) => {
  const host = await startHost(t, {}, { env: { MAX_CONNECTIONS_PER_IP: '1' } })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const res = await fetch(`${host.url}/v1/ws`)
  t.equal(res.status, 426)
  t.equal(res.headers.get('upgrade'), 'websocket')
  t.same(await res.json(), { error: 'upgrade_required' })
  t.equal((await fetch(`${host.url}/v1/ws`, { method: 'HEAD' })).status, 426, 'HEAD too')
  t.equal(host.log.events('connection.refused').length, 0, 'a plain GET is no refused upgrade, even at the per-address limit')
  await wire.close()
})
