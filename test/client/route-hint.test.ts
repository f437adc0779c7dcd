// The routing hint (PROTOCOL.md §8.1): the SDK opens `/v1/ws?session_id=<id>`
// naming the session the connection will (re-)open, URL-encoded, so that a
// load balancer sends every connection of a session to the same host. The
// URL building is checked as a pure function; the rest against the real host
// (test/helpers/host.ts), which logs the hint it received as `route_hint` on
// `connection.opened`, and whose HTTP server shows the raw upgrade URL.
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { HostError, SessionClient, endpoints, routedWsUrl, type ConnectOptions } from '@rag-session-host/client'
import { SESSION_ID_PATTERN } from '@rag-session-host/client/shared'
import { startHost, type TestHost } from '../helpers/host.js'
import { InboundTap } from '../helpers/inbound-tap.js'
import { rejection, within } from '../helpers/wait.js'

const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 50 }
/** Needs URL encoding: ':' is encoded as %3A. */
const SESSION = 'tenant-7:chat.42_x'
const ENCODED = 'tenant-7%3Achat.42_x'

t.test('routedWsUrl: the socket URL with the hint, URL-encoded', async (t) => {
  const { wsUrl } = endpoints('http://h:1/pre/')
  t.equal(routedWsUrl(wsUrl, undefined), 'ws://h:1/pre/v1/ws', 'no session: the plain URL')
  t.equal(routedWsUrl(wsUrl, 'chat-42'), 'ws://h:1/pre/v1/ws?session_id=chat-42')
  t.equal(routedWsUrl(wsUrl, SESSION), `ws://h:1/pre/v1/ws?session_id=${ENCODED}`)
  t.equal(new URL(routedWsUrl(wsUrl, SESSION)).searchParams.get('session_id'), SESSION, 'decodes back to the id')
  const every = 'AZaz09._:-'
  t.ok(SESSION_ID_PATTERN.test(every))
  t.equal(new URL(routedWsUrl(wsUrl, every)).searchParams.get('session_id'), every, 'every character a session id may hold survives')
  t.equal(routedWsUrl(endpoints('wss://h/v1/ws').wsUrl, 'a'), 'wss://h/v1/ws?session_id=a')
})

t.test("the base URL's own query and fragment are still dropped; only the hint is added", async (t) => {
  const ep = endpoints('https://user:pw@h:8443/pre/v1/ws?session_id=other&x=1#frag')
  t.same(ep, { hostInfoUrl: 'https://h:8443/pre/v1/host', wsUrl: 'wss://h:8443/pre/v1/ws' })
  t.equal(routedWsUrl(ep.wsUrl, 'mine'), 'wss://h:8443/pre/v1/ws?session_id=mine')
  t.equal(routedWsUrl(endpoints('http://h:1?session_id=other').wsUrl, undefined), 'ws://h:1/v1/ws')
})

interface Setup {
  host: TestHost
  tap: InboundTap
  /** The raw URL of every WebSocket upgrade the host received, in order. */
  upgrades: string[]
}

async function start(t: { teardown(fn: () => unknown): void }): Promise<Setup> {
  const host = await startHost(t)
  const tap = InboundTap.attach(host)
  const upgrades: string[] = []
  host.server.app.server.on('upgrade', (req: IncomingMessage) => upgrades.push(req.url ?? ''))
  return { host, tap, upgrades }
}

async function connect(t: { teardown(fn: () => unknown): void }, host: TestHost, opts: ConnectOptions = {}): Promise<SessionClient> {
  const client = await SessionClient.connect(host.url, { reconnect: FAST_RECONNECT, requestTimeoutMs: 10_000, ...opts })
  t.teardown(() => client.close())
  return client
}

/** Drops the host's side of its only connection, without a close frame. */
function dropConnection(host: TestHost): void {
  const sockets = [...host.server.app.websocketServer.clients]
  if (sockets.length !== 1) throw new Error(`expected one connection, the host has ${sockets.length}`)
  sockets[0]!.terminate()
}

/** The route_hint of each connection.opened line, in order (undefined: no hint). */
const hints = (host: TestHost): unknown[] => host.log.events('connection.opened').map((l) => l.route_hint)

t.test('connect with routeHint: the first connection names that session', async (t) => {
  const { host, tap, upgrades } = await start(t)
  const client = await connect(t, host, { routeHint: SESSION })
  const opened = await host.log.waitFor('connection.opened')
  t.equal(opened.route_hint, SESSION, 'the host received the hint, ":" included')
  t.same(upgrades, [`/v1/ws?session_id=${ENCODED}`], 'URL-encoded on the wire')
  await client.openSession(SESSION)
  t.equal(tap.conns, 1)
  t.equal(tap.inits[0]?.sessionId, SESSION)
})

t.test('a reconnect names the session it re-opens', async (t) => {
  const { host, tap, upgrades } = await start(t)
  const client = await connect(t, host)
  await host.log.waitFor('connection.opened')
  t.same(hints(host), [undefined], 'no session known yet: no hint')
  t.same(upgrades, ['/v1/ws'])
  await client.openSession(SESSION)
  t.equal(tap.conns, 1, 'opening a session on a connection without its hint does not reconnect')
  t.equal((await client.appendMessage('user', 'before')).seq, 1)

  const reconnected = client.next('reconnected')
  dropConnection(host)
  const [info] = await within(reconnected, 5000, 'reconnected')
  t.match(info, { created: false, attempt: 1 }, 'the same session, on the same host')
  const opened = await host.log.waitFor('connection.opened', (l) => l.route_hint !== undefined)
  t.equal(opened.route_hint, SESSION)
  t.same(upgrades, ['/v1/ws', `/v1/ws?session_id=${ENCODED}`])
  t.same(
    tap.inits.map((i) => [i.conn, i.sessionId]),
    [
      [0, SESSION],
      [1, SESSION],
    ],
    're-init of that session on the new connection',
  )
  t.equal((await client.appendMessage('user', 'after')).seq, 2)
})

t.test('another session opened on a connection keeps it; later connections name the new session', async (t) => {
  const { host, tap, upgrades } = await start(t)
  const client = await connect(t, host, { routeHint: 'first' })
  await client.openSession('first')
  await client.openSession('second:1')
  t.equal(tap.conns, 1, 'no reconnect for a session the hint did not name')
  t.same(hints(host), ['first'])

  const reconnected = client.next('reconnected')
  dropConnection(host)
  await within(reconnected, 5000, 'reconnected')
  await host.log.waitFor('connection.opened', (l) => l.route_hint === 'second:1')
  t.same(hints(host), ['first', 'second:1'], 'the hint of the session bound last, which the reconnect re-inits')
  t.same(upgrades, ['/v1/ws?session_id=first', '/v1/ws?session_id=second%3A1'])
  t.equal(tap.inits.at(-1)?.sessionId, 'second:1')
  t.equal(tap.inits.at(-1)?.conn, 1)
})

t.test('no session bound yet: a reconnect names the session an openSession waits to open', async (t) => {
  const { host, tap, upgrades } = await start(t)
  const client = await connect(t, host, { reconnect: { initialDelayMs: 100, maxDelayMs: 100 } })
  await host.log.waitFor('connection.opened')
  let opening: Promise<unknown> | undefined
  client.once('disconnected', () => {
    opening = client.openSession(SESSION) // queued until the reconnect
  })
  const reconnected = client.next('reconnected')
  dropConnection(host)
  const [info] = await within(reconnected, 5000, 'reconnected')
  t.equal(info, null, 'no session was bound')
  t.match(await within(opening ?? Promise.reject(new Error('not called')), 5000, 'openSession'), { created: true })
  t.same(hints(host), [undefined, SESSION])
  t.same(upgrades, ['/v1/ws', `/v1/ws?session_id=${ENCODED}`])
  t.same(
    tap.inits.map((i) => [i.conn, i.sessionId]),
    [[1, SESSION]],
  )
})

t.test('a routeHint that is no session id is refused before anything is sent', async (t) => {
  const { host, upgrades } = await start(t)
  for (const routeHint of ['', 'with space', 'a/b', 'x\n', 'é', 'a'.repeat(129)]) {
    const err = await rejection(SessionClient.connect(host.url, { routeHint }))
    t.ok(err instanceof HostError)
    t.match(err, { code: 'bad_request', retryable: false }, JSON.stringify(routeHint))
  }
  t.same(upgrades, [], 'no socket opened')
})
