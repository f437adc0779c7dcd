// Browser origins, over real HTTP and real WebSockets on 127.0.0.1:
// CORS_ORIGINS governs who may read GET /v1/host (and its preflight);
// ALLOWED_ORIGINS, when set, refuses WebSocket upgrades from other origins
// with 403 and lets clients that send no Origin (not browsers) in.
import t from 'tap'
import WebSocket from 'ws'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const APP = 'http://app.example.test:5173'
const OTHER = 'http://evil.example.test'

/** Opens a raw WebSocket and reports how the upgrade ended: 101 (open) or the HTTP status it got. */
function upgrade(wsUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers })
    ws.once('open', () => {
      ws.close()
      resolve({ status: 101, body: '' })
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err)
    })
  })
}

t.test('GET /v1/host answers CORS for any origin by default', async (t) => {
  const host = await startHost(t)
  const res = await fetch(`${host.url}/v1/host`, { headers: { origin: APP } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('access-control-allow-origin'), '*')
  t.equal(((await res.json()) as { protocol: number }).protocol, 1)

  const pre = await fetch(`${host.url}/v1/host`, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'accept' },
  })
  t.equal(pre.status, 204, 'preflight answered')
  t.equal(pre.headers.get('access-control-allow-origin'), '*')
  t.match(pre.headers.get('access-control-allow-methods'), /\bGET\b/)
  t.equal(pre.headers.get('access-control-allow-headers'), 'accept')
  t.equal(pre.headers.get('access-control-max-age'), '600')
})

t.test('only GET /v1/host answers CORS', async (t) => {
  const host = await startHost(t)
  for (const path of ['/health', '/ready', '/metrics']) {
    const res = await fetch(`${host.url}${path}`, { headers: { origin: APP } })
    t.equal(res.status, 200, path)
    t.equal(res.headers.get('access-control-allow-origin'), null, `${path} has no CORS header`)
    await res.body?.cancel()
  }
  const pre = await fetch(`${host.url}/metrics`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } })
  t.equal(pre.status, 404, 'no preflight for other paths')
  t.equal(pre.headers.get('access-control-allow-origin'), null)
})

t.test('CORS_ORIGINS as a list: listed origins are reflected, others get no CORS header', async (t) => {
  const host = await startHost(t, { corsOrigins: `${APP}, http://localhost:3000` })
  t.same(host.config.corsOrigins, [APP, 'http://localhost:3000'])

  const ok = await fetch(`${host.url}/v1/host`, { headers: { origin: APP } })
  t.equal(ok.headers.get('access-control-allow-origin'), APP)
  t.match(ok.headers.get('vary'), /origin/i, 'caches keep answers per origin')
  await ok.body?.cancel()

  const other = await fetch(`${host.url}/v1/host`, { headers: { origin: OTHER } })
  t.equal(other.status, 200, 'the body is still served: the browser withholds it')
  t.equal(other.headers.get('access-control-allow-origin'), null)
  await other.body?.cancel()

  const preOk = await fetch(`${host.url}/v1/host`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' } })
  t.equal(preOk.status, 204)
  t.equal(preOk.headers.get('access-control-allow-origin'), 'http://localhost:3000')
  const preOther = await fetch(`${host.url}/v1/host`, { method: 'OPTIONS', headers: { origin: OTHER, 'access-control-request-method': 'GET' } })
  t.equal(preOther.headers.get('access-control-allow-origin'), null, 'a refused preflight')
})

t.test('without ALLOWED_ORIGINS every origin may open the WebSocket', async (t) => {
  const host = await startHost(t)
  t.equal(host.config.allowedOrigins, undefined)
  t.equal((await upgrade(host.wsUrl, { origin: OTHER })).status, 101)
  t.equal((await upgrade(host.wsUrl)).status, 101)
})

t.test('ALLOWED_ORIGINS: listed origins and clients without Origin get in, others get 403', async (t) => {
  const host = await startHost(t, { allowedOrigins: `${APP},https://Chat.Example.Test:443/` })
  t.same(host.config.allowedOrigins, [APP, 'https://chat.example.test'], 'normalised as browsers send Origin')

  const refused = await upgrade(host.wsUrl, { origin: OTHER })
  t.equal(refused.status, 403)
  t.same(JSON.parse(refused.body), { error: 'origin_not_allowed' })
  t.equal((await upgrade(host.wsUrl, { origin: 'null' })).status, 403, 'an opaque origin (sandboxed page, file://) is refused')
  t.equal((await upgrade(host.wsUrl, { origin: `${APP}.evil.test` })).status, 403, 'compared whole, not by prefix')
  const [line] = host.log.events('connection.refused')
  t.match(line, { level: 'info', reason: 'origin_not_allowed', origin: OTHER })
  t.equal(host.server.ctx.connections.size, 0, 'no connection was made for a refused origin')

  t.equal((await upgrade(host.wsUrl, { origin: 'https://chat.example.test' })).status, 101, 'a listed origin')
  // A non-browser client (ws, the Node SDK) sends no Origin: it works end to end.
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack } = await w.init({ sessionId: 'no-origin', identity: generateIdentity() })
  t.equal(ack.ok, true)
  t.equal((await w.request('ping')).ok, true)
  const listed = await Wire.open(host.wsUrl, host.hostPublicKey, { origin: APP })
  t.equal((await listed.init({ sessionId: 'app-origin', identity: generateIdentity() })).ack.ok, true)
})

t.test('bad origin lists stop the host with a message naming the variable', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js')
  for (const [env, value] of [
    ['CORS_ORIGINS', 'app.example.com'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', '*,https://app.example.com'],
    ['CORS_ORIGINS', ' , '],
    ['ALLOWED_ORIGINS', '*'],
    ['ALLOWED_ORIGINS', 'https://a.example?x=1'],
  ] as const) {
    const err = t.throws(() => loadConfig({ [env]: value }), `${env}=${value}`) as Error
    t.ok(err instanceof ConfigError)
    t.match(err.message, new RegExp(`^${env} must be .*comma-separated list of origins`))
  }
  t.same(loadConfig({}).corsOrigins, ['*'])
  t.same(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins, ['*'])
})
