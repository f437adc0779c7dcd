// SessionClient against the real host (test/helpers/host.ts) on 127.0.0.1,
// with an inbound tap (test/helpers/inbound-tap.ts) that opens what the host
// received with tweetnacl, so the wire is checked against the contract rather
// than against the SDK itself. What a correct host never does (replies out of
// order, late or never, unopenable, binary, policy closes) is in
// session-client-faults.test.ts, against a scripted fake.
import t from 'tap'
import nacl from 'tweetnacl'
import { HostError, SessionClient, generateIdentity, type ConnectOptions, type SessionStatusNotice } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'
import type { Config } from '../../src/config.js'
import { startHost, type StartOptions, type TestHost } from '../helpers/host.js'
import { InboundTap, decodeF32 } from '../helpers/inbound-tap.js'
import { rejection, within } from '../helpers/wait.js'

const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 50 }

/** GET /v1/host requests the host has answered (any status). */
const hostInfoGets = (host: TestHost): number => host.log.events('http.request').filter((l) => l.url === '/v1/host').length

/** Drops the host's side of its only connection (the socket of its own WebSocket server), without a close frame. */
function dropConnection(host: TestHost): void {
  const sockets = [...host.server.app.websocketServer.clients]
  if (sockets.length !== 1) throw new Error(`expected one connection, the host has ${sockets.length}`)
  sockets[0]!.terminate()
}

async function setup(
  t: { teardown(fn: () => unknown): void },
  opts: ConnectOptions = {},
  hostOverrides: Partial<Record<keyof Config, unknown>> = {},
  hostOpts: StartOptions = {},
): Promise<{ host: TestHost; tap: InboundTap; client: SessionClient }> {
  const host = await startHost(t, hostOverrides, hostOpts)
  const tap = InboundTap.attach(host)
  const client = await SessionClient.connect(host.url, { reconnect: FAST_RECONNECT, requestTimeoutMs: 10_000, ...opts })
  t.teardown(() => client.close())
  return { host, tap, client }
}

t.test('connect fetches /v1/host and opens a session with a verified init', async (t) => {
  const { host, tap, client } = await setup(t)
  t.equal(hostInfoGets(host), 1)
  t.equal(client.hostInfo?.protocol, 1)
  t.equal(client.hostInfo?.public_key, encodeBase64(host.hostPublicKey))
  t.equal(client.limits?.max_k, 100)
  t.ok(client.connected)
  const info = await client.openSession('sess-1')
  t.same(info, { created: true, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 })
  t.equal(tap.inits.length, 1, 'the init box opens with the host key')
  t.equal(tap.inits[0]?.clientPub, client.identity.publicKey)
  t.equal(tap.inits[0]?.newAttempt, false)
  t.equal(host.server.ctx.sessions.get('sess-1')?.owner, client.identity.publicKey, 'the host accepted the init (signature verified)')
  t.equal(client.sessionId, 'sess-1')
  const pong = await client.ping()
  t.type(pong.ts, 'number')
  t.same(Object.keys(pong), ['ts'], 'only the success fields')
})

t.test('no request before openSession; bad session ids refused locally', async (t) => {
  const { tap, client } = await setup(t)
  t.equal((await rejection(client.ping())).code, 'no_session')
  t.equal((await rejection(client.openSession('bad id with spaces'))).code, 'bad_request')
  t.equal((await rejection(client.openSession('x\n'))).code, 'bad_request')
  await client.openSession('fine') // a frame after them: had they been sent, they would be here first
  t.same(
    tap.frames.map((f) => f.frame.session_id),
    ['fine'],
    'nothing else sent',
  )
})

t.test('typed operations put the contract fields on the wire', async (t) => {
  const { tap, client } = await setup(t)
  await client.openSession('ops')
  const up = await client.uploadVectors(
    [
      { id: 'a', vector: [1, 0.5, -2], metadata: { lang: 'en', n: 1 } },
      { id: 'b', vector: new Float32Array([0, 1, 0]) },
    ],
    { replace: true },
  )
  t.same(up, { uploaded: 2, rejected: [], total: 2, dims: 3 })
  const sent = tap.requests.at(-1)?.request as { vectors: Record<string, unknown>[]; replace: boolean }
  t.equal(sent.replace, true)
  t.same(Object.keys(sent.vectors[0] ?? {}).sort(), ['id', 'metadata', 'vector_b64'])
  t.same(decodeF32(String(sent.vectors[0]?.vector_b64)), [1, 0.5, -2], 'little-endian float32')
  t.same(decodeF32(String(sent.vectors[1]?.vector_b64)), [0, 1, 0])

  const filter = { $and: [{ lang: 'en' }, { n: { $gte: 1 } }] }
  const found = await client.searchVectors([1, 0.5, -2], { k: 3, threshold: 0.1, filter })
  t.same(
    found.results.map((r) => [r.id, r.metadata]),
    [['a', { lang: 'en', n: 1 }]],
    'the host applied the filter',
  )
  t.ok(Math.abs((found.results[0]?.score ?? 0) - 1) < 1e-6, 'and decoded the vectors the SDK encoded')
  t.equal(found.exact, true)
  const search = tap.requests.at(-1)?.request as Record<string, unknown>
  t.same(search.filter, filter)
  t.equal(search.k, 3)
  t.equal(search.threshold, 0.1)
  t.same(decodeF32(String(search.vector_b64)), [1, 0.5, -2])
  t.notOk('vector' in search)
  const scored = await client.searchVectors([0, 1, 0], { k: 3 })
  t.same(
    scored.results.map((r) => r.id),
    ['b', 'a'],
  )
  t.ok(Math.abs((scored.results[1]?.score ?? 0) - 0.5 / Math.hypot(1, 0.5, 2)) < 1e-6, 'cosine of what was sent')

  await client.appendMessage('assistant', 'hello')
  const history = await client.getHistory({ attempt: 'all', limit: 10 })
  t.same(
    history.messages.map((m) => m.content),
    ['hello'],
  )
  t.match(tap.requests.at(-1)?.request, { type: 'getHistory', attempt: 'all', limit: 10 })
  t.same(await client.deleteVectors(['a']), { deleted: 1, total: 1 })
  t.same(tap.requests.at(-1)?.request, { type: 'deleteVectors', id: tap.requests.at(-1)?.request.id, ids: ['a'] })
  t.equal((await client.sessionInfo()).session_id, 'ops')
  // Forward compatibility: any operation by name.
  const unknown = await rejection(client.request('futureOp', { x: 1 }))
  t.equal(unknown.code, 'bad_request')
  t.match(tap.requests.at(-1)?.request, { type: 'futureOp', x: 1 })
  t.same(await client.endSession(), { status: 'ended' })
})

t.test("vectorEncoding 'array' sends plain number arrays", async (t) => {
  const { tap, client } = await setup(t, { vectorEncoding: 'array' })
  await client.openSession('arr')
  await client.uploadVectors([{ id: 'a', vector: new Float32Array([1, 2]) }])
  t.same(tap.requests.at(-1)?.request.vectors, [{ id: 'a', vector: [1, 2] }])
  const found = await client.searchVectors([3, 4])
  t.same(tap.requests.at(-1)?.request.vector, [3, 4])
  t.notOk('vector_b64' in (tap.requests.at(-1)?.request ?? {}))
  t.equal(found.results[0]?.id, 'a')
})

t.test("a sealed ok:false reply rejects with the host's error and retry hint; the connection keeps working", async (t) => {
  const clock = { now: Date.now() } // the host's clock, so the bucket refills when the test says
  const { client } = await setup(t, {}, { rateLimitPerSec: 1, rateLimitBurst: 2 }, { now: () => clock.now })
  await client.openSession('errs') // token 1
  t.equal((await client.appendMessage('user', 'x')).seq, 1) // token 2
  const limited = await rejection(client.appendMessage('user', 'y'))
  t.match(limited, { code: 'rate_limited', retryable: true })
  t.ok((limited.retryAfterMs ?? 0) > 0, `retry hint: ${limited.retryAfterMs} ms`)
  t.match(limited.requestId, /./, 'names the request')
  clock.now += limited.retryAfterMs ?? 0 // as long as the host said to wait
  t.equal((await client.appendMessage('user', 'z')).seq, 2, 'the refused message was not stored')
})

t.test('notices arrive as events', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('noticed')
  const other = await SessionClient.connect(host.url, { identity: client.identity, reconnect: { enabled: false } })
  t.teardown(() => other.close())
  await other.openSession('noticed')
  const got = client.next('notice') as Promise<[SessionStatusNotice]>
  await other.endSession()
  const [notice] = await within(got, 5000, 'notice')
  t.same(notice, { type: 'session_status', status: 'ended', reason: 'ended_by_client' })
})

t.test('openSession ok:false rejects and leaves the bound session in place', async (t) => {
  const { host, client } = await setup(t, {}, { maxSessions: 1 })
  await client.openSession('mine')
  const other = await SessionClient.connect(host.url, { reconnect: { enabled: false } })
  t.teardown(() => other.close())
  const forbidden = await rejection(other.openSession('mine'))
  t.match(forbidden, { code: 'forbidden', retryable: false })
  t.equal((await rejection(other.ping())).code, 'no_session')

  const full = await rejection(client.openSession('full'))
  t.match(full, { code: 'capacity_exceeded', retryable: true })
  t.ok((full.retryAfterMs ?? 0) > 0, 'with a retry hint')
  t.equal(client.sessionId, 'mine', 'requests still go to the session that is bound')
  await client.appendMessage('user', 'still mine')
  t.same(
    host.server.ctx.sessions
      .get('mine')
      ?.history.query({ attempt: 'all', currentAttempt: 1 })
      .map((m) => m.content),
    ['still mine'],
  )
  t.equal(host.server.ctx.sessions.size, 1)
})

t.test('openSession again rotates the key and restarts the counter', async (t) => {
  const { host, tap, client } = await setup(t)
  await client.openSession('rot')
  await client.ping()
  await client.ping()
  const info = await client.openSession('rot', { newAttempt: true })
  t.equal(info.attempt, 2)
  t.equal(info.created, false)
  t.equal(tap.inits[1]?.newAttempt, true)
  t.not(tap.inits[1]?.sessionKey, tap.inits[0]?.sessionKey, 'new K')
  t.not(tap.inits[1]?.ephPub, tap.inits[0]?.ephPub, 'new ephemeral key')
  await client.ping()
  t.same(
    tap.requests.map((r) => r.counter),
    [1n, 2n, 1n],
  )
  t.equal(tap.conns, 1, 'same connection')
  t.equal(host.server.ctx.connections.size, 1)
})

t.test('requests made during an init wait for it and use the new key', async (t) => {
  const { tap, client } = await setup(t)
  const opening = client.openSession('early')
  const pong = client.ping() // issued before the ack
  await opening
  t.type((await pong).ts, 'number')
  t.same(
    tap.frames.map((f) => f.frame.type),
    ['encrypted_session_init', 'encrypted_message'],
    'sent after the init',
  )
  t.equal(tap.requests[0]?.counter, 1n)
})

t.test('dropped socket: in-flight requests reject at once, then reconnect with a new key', async (t) => {
  const { host, tap, client } = await setup(t, { requestTimeoutMs: 20_000 })
  await client.openSession('resume')
  await client.appendMessage('user', 'before')
  const events: string[] = []
  client.on('disconnected', () => events.push('disconnected'))
  client.on('reconnecting', (r) => events.push(`reconnecting ${r.attempt}`))
  const reconnected = client.next('reconnected')

  // The SDK writes requests to the socket at once; the host's side goes before it reads them.
  const inFlight = [client.ping(), client.ping()]
  dropConnection(host)
  for (const p of inFlight) {
    const err = await rejection(p, 5000) // far below the 20 s request timeout
    t.match(err, { code: 'disconnected', retryable: true })
  }
  const [info] = (await within(reconnected, 5000, 'reconnected')) as [{ created: boolean; attempt: number }]
  t.match(info, { created: false, attempt: 1 })
  t.same(events.slice(0, 2), ['disconnected', 'reconnecting 1'])
  t.equal(tap.conns, 2)
  t.equal(tap.inits.length, 2)
  const [first, second] = tap.inits
  t.equal(second?.conn, 1, 're-init on the new connection')
  t.equal(second?.sessionId, 'resume')
  t.equal(second?.newAttempt, false, 'continues the attempt')
  t.not(second?.sessionKey, first?.sessionKey, 'new session key')
  t.not(second?.ephPub, first?.ephPub, 'new ephemeral key')

  const seq = await client.appendMessage('user', 'after')
  t.equal(seq.seq, 2, 'the session kept its history')
  t.equal(tap.requests.at(-1)?.counter, 1n, 'counter restarts on the new key')
  t.equal(tap.requests.at(-1)?.conn, 1)
})

t.test('requests issued while disconnected wait for the reconnect', async (t) => {
  const { host, tap, client } = await setup(t, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } })
  await client.openSession('waiting')
  const waiting: Promise<{ seq: number }>[] = []
  client.once('disconnected', () => {
    waiting.push(client.appendMessage('user', 'queued 1'), client.appendMessage('user', 'queued 2'))
  })
  dropConnection(host)
  await within(client.next('reconnected'), 5000, 'reconnected')
  const done = await within(Promise.all(waiting), 5000, 'queued requests')
  t.same(
    done.map((d) => d.seq),
    [1, 2],
    'sent in call order after the re-init',
  )
  t.same(
    tap.requests.map((r) => [r.conn, r.counter]),
    [
      [1, 1n],
      [1, 2n],
    ],
    'on the new connection, under the new key',
  )
})

t.test('reconnect disabled: in-flight and later requests reject, the client closes', async (t) => {
  const { host, tap, client } = await setup(t, { reconnect: { enabled: false } })
  await client.openSession('once')
  const inflight = client.ping()
  const closed = client.next('closed')
  dropConnection(host)
  t.match(await rejection(inflight), { code: 'disconnected', retryable: true })
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.equal(reason.code, 'disconnected')
  t.ok(client.closed)
  t.match(await rejection(client.ping()), { code: 'disconnected', retryable: false })
  t.equal(tap.conns, 1, 'no reconnect')
})

t.test('gives up after maxAttempts; queued requests reject', async (t) => {
  // Two HTTP requests a minute: the first GET /v1/host and the upgrade. Every reconnect attempt then gets 429.
  const { host, client } = await setup(t, { reconnect: { ...FAST_RECONNECT, maxAttempts: 3 } }, { httpRateLimitMax: 2 })
  await client.openSession('gone')
  const attempts: number[] = []
  client.on('reconnecting', (r) => attempts.push(r.attempt))
  const closed = client.next('closed')
  let queued: Promise<unknown> | undefined
  client.once('disconnected', () => {
    queued = client.ping()
  })
  dropConnection(host)
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.match(reason, { code: 'disconnected', retryable: false })
  t.same(attempts, [1, 2, 3])
  if (!queued) throw new Error('no queued request')
  t.match(await rejection(queued), { code: 'disconnected', retryable: false })
  t.equal(hostInfoGets(host), 4, 'host info fetched again before each attempt')
  t.same(
    host.log
      .events('http.request')
      .filter((l) => l.url === '/v1/host')
      .map((l) => l.status),
    [200, 429, 429, 429],
  )
})

t.test('frames over max_frame_bytes are refused before sending', async (t) => {
  const { tap, client } = await setup(t, {}, { maxFrameBytes: 4096, maxMetadataBytes: 1024 })
  await client.openSession('limits')
  t.equal(client.limits?.max_frame_bytes, 4096)
  const err = await rejection(client.uploadVectors([{ id: 'a', vector: new Array(2000).fill(1) }]))
  t.match(err, { code: 'limit_exceeded', retryable: false })
  t.type((await client.ping()).ts, 'number')
  t.equal(tap.conns, 1, 'the same connection: the host never closed it for a frame too big (1009)')
  t.equal(tap.requests.length, 1, 'nothing sent but the ping')
  t.equal(tap.requests[0]?.counter, 1n, 'and the counter was not burnt')
  t.equal(tap.inits.length, 1, 'under the first key')
})

t.test('close(): pending requests reject, no reconnect afterwards', async (t) => {
  const { host, tap, client } = await setup(t)
  await client.openSession('bye')
  const pending = rejection(client.ping()) // sent; the host answers after close() has begun
  const events: string[] = []
  client.on('reconnecting', () => events.push('reconnecting'))
  client.on('disconnected', () => events.push('disconnected'))
  await within(client.close(), 5000, 'close')
  t.match(await pending, { code: 'disconnected', retryable: false })
  t.notOk(client.connected)
  t.match(await rejection(client.ping()), { code: 'disconnected', retryable: false })
  t.match(await rejection(client.openSession('bye')), { code: 'disconnected' })
  // close() resolved on the socket's close event: a reconnect would have begun (and said so) right then.
  t.same(events, [])
  await host.log.waitFor('connection.closed')
  t.equal(host.server.ctx.sessions.get('bye')?.status, 'detached', 'a normal close: the session is detached')
  t.equal(tap.conns, 1)
  await client.close() // idempotent
})

t.test('pinned host key skips GET /v1/host; a wrong pin fails the init', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const client = await SessionClient.connect(`${host.url}/`, { hostPublicKey: encodeBase64(host.hostPublicKey), identity })
  t.teardown(() => client.close())
  await client.openSession('pinned')
  t.equal(hostInfoGets(host), 0)
  t.equal(client.hostInfo, undefined)
  t.equal(client.identity, identity)

  const wrong = await SessionClient.connect(host.url, { hostPublicKey: encodeBase64(nacl.box.keyPair().publicKey) })
  t.teardown(() => wrong.close())
  t.equal((await rejection(wrong.openSession('pinned2'))).code, 'decrypt_failed', 'the host cannot open the box')
  t.equal(host.server.ctx.sessions.get('pinned2'), undefined)
})

t.test('connect refuses an unreachable host', async (t) => {
  const host = await startHost(t)
  const port = new URL(host.url).port
  await host.close()
  t.match(await rejection(SessionClient.connect(`ws://127.0.0.1:${port}`)), { code: 'disconnected', retryable: true })
})
