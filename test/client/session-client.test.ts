// SessionClient against a scripted host (fixtures/fake-host.ts) that does the
// host's crypto with tweetnacl directly.
import t from 'tap'
import nacl from 'tweetnacl'
import { HostError, SessionClient, generateIdentity, type ConnectOptions, type SessionStatusNotice } from '@rag-session-host/client'
import { FakeHost, decodeF32, type FakeHostOptions, type Reply } from './fixtures/fake-host.js'

const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 50 }

/** Fails instead of hanging: every wait in these tests is bounded (generously). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)
  })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

/** The rejection of `promise` (fails the wait if it resolves). */
async function rejection(promise: Promise<unknown>, ms = 5000): Promise<HostError> {
  const result = await within(
    promise.then(
      (value) => ({ resolved: value }),
      (err: unknown) => ({ err }),
    ),
    ms,
    'rejection',
  )
  if ('resolved' in result) throw new Error(`expected a rejection, got ${JSON.stringify(result.resolved)}`)
  if (!(result.err instanceof HostError)) throw new Error(`expected a HostError, got ${String(result.err)}`)
  return result.err
}

async function setup(
  t: { teardown(fn: () => unknown): void },
  opts: ConnectOptions = {},
  hostOpts: FakeHostOptions = {},
): Promise<{ host: FakeHost; client: SessionClient }> {
  const host = await FakeHost.start(hostOpts)
  const client = await SessionClient.connect(host.url, { reconnect: FAST_RECONNECT, requestTimeoutMs: 10_000, ...opts })
  t.teardown(async () => {
    await client.close()
    await host.close()
  })
  return { host, client }
}

t.test('connect fetches /v1/host and opens a session with a verified init', async (t) => {
  const { host, client } = await setup(t)
  t.equal(host.hostInfoGets, 1)
  t.equal(client.hostInfo?.protocol, 1)
  t.equal(client.limits?.max_k, 100)
  t.ok(client.connected)
  const info = await client.openSession('sess-1')
  t.same(info, { created: true, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 })
  t.equal(host.inits.length, 1, 'the host accepted the init (box opened, signature verified)')
  t.equal(host.inits[0]?.clientPub, client.identity.publicKey)
  t.equal(host.inits[0]?.newAttempt, false)
  t.equal(client.sessionId, 'sess-1')
  const pong = await client.ping()
  t.type(pong.ts, 'number')
  t.same(Object.keys(pong), ['ts'], 'only the success fields')
})

t.test('no request before openSession; bad session ids refused locally', async (t) => {
  const { host, client } = await setup(t)
  t.equal((await rejection(client.ping())).code, 'no_session')
  t.equal((await rejection(client.openSession('bad id with spaces'))).code, 'bad_request')
  t.equal((await rejection(client.openSession('x\n'))).code, 'bad_request')
  t.equal(host.inits.length + host.requests.length, 0, 'nothing sent')
})

t.test('replies are correlated by id, counters strictly increase from 1', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('s')
  // Hold every appendMessage and answer them in reverse order.
  const held: { req: Record<string, unknown>; resolve: (r: Reply) => void }[] = []
  host.handler = (req) => {
    if (req.type !== 'appendMessage') return undefined
    return new Promise<Reply>((resolve) => {
      held.push({ req, resolve })
      if (held.length === 5) for (const h of [...held].reverse()) h.resolve({ ok: true, fields: { seq: Number(h.req.content), attempt: 1 } })
    })
  }
  const results = await within(Promise.all([1, 2, 3, 4, 5].map((n) => client.appendMessage('user', String(n)))), 5000, 'five replies')
  t.same(results.map((r) => r.seq), [1, 2, 3, 4, 5], 'each caller got its own reply')
  t.same(host.requests.map((r) => r.counter), [1n, 2n, 3n, 4n, 5n])
  const ids = host.requests.map((r) => r.request.id)
  t.equal(new Set(ids).size, 5, 'unique request ids')
})

t.test('typed operations put the contract fields on the wire', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('ops')
  const up = await client.uploadVectors(
    [
      { id: 'a', vector: [1, 0.5, -2], metadata: { lang: 'en', n: 1 } },
      { id: 'b', vector: new Float32Array([0, 1, 0]) },
    ],
    { replace: true },
  )
  t.same(up, { uploaded: 2, rejected: [], total: 2, dims: 3 })
  const sent = host.requests.at(-1)?.request as { vectors: Record<string, unknown>[]; replace: boolean }
  t.equal(sent.replace, true)
  t.same(Object.keys(sent.vectors[0] ?? {}).sort(), ['id', 'metadata', 'vector_b64'])
  t.same(decodeF32(String(sent.vectors[0]?.vector_b64)), [1, 0.5, -2], 'little-endian float32')
  t.same(decodeF32(String(sent.vectors[1]?.vector_b64)), [0, 1, 0])

  const filter = { $and: [{ lang: 'en' }, { n: { $gte: 1 } }] }
  const found = await client.searchVectors([1, 0.5, -2], { k: 3, threshold: 0.1, filter })
  t.equal(found.results.length, 2)
  t.equal(found.exact, true)
  const search = host.requests.at(-1)?.request as Record<string, unknown>
  t.same(search.filter, filter)
  t.equal(search.k, 3)
  t.equal(search.threshold, 0.1)
  t.same(decodeF32(String(search.vector_b64)), [1, 0.5, -2])
  t.notOk('vector' in search)

  await client.appendMessage('assistant', 'hello')
  const history = await client.getHistory({ attempt: 'all', limit: 10 })
  t.same(history.messages.map((m) => m.content), ['hello'])
  t.match(host.requests.at(-1)?.request, { type: 'getHistory', attempt: 'all', limit: 10 })
  await client.deleteVectors(['a'])
  t.same(host.requests.at(-1)?.request, { type: 'deleteVectors', id: host.requests.at(-1)?.request.id, ids: ['a'] })
  t.equal((await client.sessionInfo()).session_id, 'ops')
  t.same(await client.endSession(), { status: 'ended' })
  // Forward compatibility: any operation by name.
  const unknown = await rejection(client.request('futureOp', { x: 1 }))
  t.equal(unknown.code, 'bad_request')
  t.match(host.requests.at(-1)?.request, { type: 'futureOp', x: 1 })
})

t.test("vectorEncoding 'array' sends plain number arrays", async (t) => {
  const { host, client } = await setup(t, { vectorEncoding: 'array' })
  await client.openSession('arr')
  await client.uploadVectors([{ id: 'a', vector: new Float32Array([1, 2]) }])
  t.same(host.requests.at(-1)?.request.vectors, [{ id: 'a', vector: [1, 2] }])
  await client.searchVectors([3, 4])
  t.same(host.requests.at(-1)?.request.vector, [3, 4])
})

t.test('timeout rejects with a retryable HostError; the connection keeps working', async (t) => {
  const { host, client } = await setup(t, { requestTimeoutMs: 300 })
  await client.openSession('slow', { timeoutMs: 10_000 })
  let late: (() => void) | undefined
  host.handler = (req, conn) => {
    if (req.type !== 'ping' || late) return undefined
    late = () => conn.sendSealed(String(req.id), { type: 'pingResponse', id: req.id, ok: true, ts: 1 })
    return { ignore: true }
  }
  const err = await rejection(client.ping())
  t.equal(err.code, 'timeout')
  t.equal(err.retryable, true)
  t.equal(err.requestId, host.requests.at(-1)?.request.id)
  late?.() // a reply after the timeout is ignored
  t.type((await client.request('ping', {}, { timeoutMs: 10_000 })).ts, 'number')
  host.handler = () => ({ ignore: true })
  const perCall = await rejection(client.request('ping', {}, { timeoutMs: 50 }), 2000)
  t.equal(perCall.code, 'timeout', 'per-request timeout')
})

t.test('host errors: plaintext error frame, sealed ok:false, unopenable reply', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('errs')
  host.handler = (req) => {
    if (req.type === 'ping') return { plainError: 'replayed' }
    if (req.type === 'appendMessage') return { ok: false, code: 'rate_limited', message: 'slow', retryable: true, retry_after_ms: 1234 }
    if (req.type === 'sessionInfo') return { wrongKey: true }
    return undefined
  }
  const plain = await rejection(client.ping())
  t.match(plain, { code: 'replayed', retryable: false, requestId: host.requests.at(-1)?.request.id })
  const sealed = await rejection(client.appendMessage('user', 'x'))
  t.match(sealed, { code: 'rate_limited', retryable: true, retryAfterMs: 1234, message: 'slow' })
  const unopenable = await rejection(client.sessionInfo())
  t.equal(unopenable.code, 'decrypt_failed')
  host.handler = undefined
  t.equal((await client.appendMessage('user', 'fine')).seq, 1)
})

t.test('notices arrive as events', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('noticed')
  const got = client.next('notice') as Promise<[SessionStatusNotice]>
  host.conns[0]?.notice('ended', 'ended by another connection')
  const [notice] = await within(got, 5000, 'notice')
  t.same(notice, { type: 'session_status', status: 'ended', reason: 'ended by another connection' })
})

t.test('openSession ok:false rejects and leaves the bound session in place', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('mine')
  const other = await SessionClient.connect(host.url, { reconnect: { enabled: false } })
  t.teardown(() => other.close())
  const forbidden = await rejection(other.openSession('mine'))
  t.match(forbidden, { code: 'forbidden', retryable: false })
  t.equal((await rejection(other.ping())).code, 'no_session')

  host.initHook = (frame) => (frame.session_id === 'full' ? { fail: 'capacity_exceeded' } : 'default')
  const full = await rejection(client.openSession('full'))
  t.match(full, { code: 'capacity_exceeded', retryable: true, retryAfterMs: 500 })
  t.equal(client.sessionId, 'mine', 'requests still go to the session that is bound')
  await client.appendMessage('user', 'still mine')
  t.equal(host.requests.at(-1)?.conn.sessionId, 'mine')
})

t.test('an init ack that does not open with K is refused', async (t) => {
  const { host, client } = await setup(t)
  host.initHook = () => 'wrong_key'
  t.equal((await rejection(client.openSession('x'))).code, 'decrypt_failed')
})

t.test('openSession again rotates the key and restarts the counter', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('rot')
  await client.ping()
  await client.ping()
  const info = await client.openSession('rot', { newAttempt: true })
  t.equal(info.attempt, 2)
  t.equal(info.created, false)
  t.equal(host.inits[1]?.newAttempt, true)
  t.not(host.inits[1]?.sessionKey, host.inits[0]?.sessionKey, 'new K')
  t.not(host.inits[1]?.ephPub, host.inits[0]?.ephPub, 'new ephemeral key')
  await client.ping()
  t.same(host.requests.map((r) => r.counter), [1n, 2n, 1n])
  t.equal(host.conns.length, 1, 'same connection')
})

t.test('requests made during an init wait for it and use the new key', async (t) => {
  const { host, client } = await setup(t)
  const opening = client.openSession('early')
  const pong = client.ping() // issued before the ack
  await opening
  await pong
  t.equal(host.requests[0]?.counter, 1n)
})

t.test('dropped socket: in-flight requests reject at once, then reconnect with a new key', async (t) => {
  const { host, client } = await setup(t, { requestTimeoutMs: 20_000 })
  await client.openSession('resume')
  await client.appendMessage('user', 'before')
  const events: string[] = []
  client.on('disconnected', () => events.push('disconnected'))
  client.on('reconnecting', (r) => events.push(`reconnecting ${r.attempt}`))
  const reconnected = client.next('reconnected')

  host.handler = (req) => (req.type === 'ping' ? { ignore: true } : undefined)
  const inFlight = [client.ping(), client.ping()]
  await within(
    (async () => {
      while (host.requests.filter((r) => r.request.type === 'ping').length < 2) await new Promise((r) => setTimeout(r, 5))
    })(),
    5000,
    'pings reach the host',
  )
  host.handler = undefined
  host.dropAll()
  for (const p of inFlight) {
    const err = await rejection(p, 5000) // far below the 20 s request timeout
    t.match(err, { code: 'disconnected', retryable: true })
  }
  const [info] = (await within(reconnected, 5000, 'reconnected')) as [{ created: boolean; attempt: number }]
  t.match(info, { created: false, attempt: 1 })
  t.same(events.slice(0, 2), ['disconnected', 'reconnecting 1'])
  t.equal(host.conns.length, 2)
  t.equal(host.inits.length, 2)
  const [first, second] = host.inits
  t.equal(second?.conn, host.conns[1], 're-init on the new connection')
  t.equal(second?.sessionId, 'resume')
  t.equal(second?.newAttempt, false, 'continues the attempt')
  t.not(second?.sessionKey, first?.sessionKey, 'new session key')
  t.not(second?.ephPub, first?.ephPub, 'new ephemeral key')

  const seq = await client.appendMessage('user', 'after')
  t.equal(seq.seq, 2, 'the session kept its history')
  t.equal(host.requests.at(-1)?.counter, 1n, 'counter restarts on the new key')
  t.equal(host.requests.at(-1)?.conn, host.conns[1])
})

t.test('requests issued while disconnected wait for the reconnect', async (t) => {
  const { host, client } = await setup(t, { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } })
  await client.openSession('waiting')
  const waiting: Promise<{ seq: number }>[] = []
  client.once('disconnected', () => {
    waiting.push(client.appendMessage('user', 'queued 1'), client.appendMessage('user', 'queued 2'))
  })
  host.dropAll()
  await within(client.next('reconnected'), 5000, 'reconnected')
  const done = await within(Promise.all(waiting), 5000, 'queued requests')
  t.same(done.map((d) => d.seq), [1, 2], 'sent in call order after the re-init')
  t.same(host.requests.map((r) => r.counter), [1n, 2n])
  t.ok(host.requests.every((r) => r.conn === host.conns[1]))
})

t.test('reconnect disabled: in-flight and later requests reject, the client closes', async (t) => {
  const { host, client } = await setup(t, { reconnect: { enabled: false } })
  await client.openSession('once')
  host.handler = () => ({ ignore: true })
  const inflight = client.ping()
  const closed = client.next('closed')
  await within(
    (async () => {
      while (host.requests.length < 1) await new Promise((r) => setTimeout(r, 5))
    })(),
    5000,
    'ping reaches host',
  )
  host.dropAll()
  t.match(await rejection(inflight), { code: 'disconnected', retryable: true })
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.equal(reason.code, 'disconnected')
  t.ok(client.closed)
  t.match(await rejection(client.ping()), { code: 'disconnected', retryable: false })
  t.equal(host.conns.length, 1, 'no reconnect')
})

t.test('gives up after maxAttempts; queued requests reject', async (t) => {
  const { host, client } = await setup(t, { reconnect: { ...FAST_RECONNECT, maxAttempts: 3 } })
  await client.openSession('gone')
  host.refuseConnections = true
  const attempts: number[] = []
  client.on('reconnecting', (r) => attempts.push(r.attempt))
  const closed = client.next('closed')
  let queued: Promise<unknown> | undefined
  client.once('disconnected', () => {
    queued = client.ping()
  })
  host.dropAll()
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.match(reason, { code: 'disconnected', retryable: false })
  t.same(attempts, [1, 2, 3])
  if (!queued) throw new Error('no queued request')
  t.match(await rejection(queued), { code: 'disconnected', retryable: false })
  t.ok(host.hostInfoGets >= 4, 'host info fetched again before each attempt')
})

t.test('close code 1009: the largest in-flight request gets limit_exceeded, others disconnected', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('big')
  host.handler = (req, conn) => {
    if (req.type === 'uploadVectors') {
      conn.ws.close(1009, 'too big')
      return { ignore: true }
    }
    return { ignore: true }
  }
  const small = client.ping()
  const big = client.uploadVectors([{ id: 'a', vector: new Array(2000).fill(0.5) }])
  t.match(await rejection(big), { code: 'limit_exceeded', retryable: false })
  t.match(await rejection(small), { code: 'disconnected', retryable: true })
  host.handler = undefined
  await within(client.next('reconnected'), 5000, 'reconnected after 1009')
  t.type((await client.ping()).ts, 'number')
})

t.test('repeated policy closes (1008) stop the reconnect loop', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('policy')
  host.initHook = (_frame, conn) => (conn.index > 0 ? { close: 1008 } : 'default')
  const closed = client.next('closed')
  host.conns[0]?.ws.close(1008, 'policy')
  const [reason] = (await within(closed, 5000, 'closed')) as [HostError]
  t.match(reason, { code: 'disconnected', retryable: false })
  t.match(reason.message, /1008/)
  t.equal(host.conns.length, 3, 'three closes in a row, then no more attempts')
})

t.test('frames over max_frame_bytes are refused before sending', async (t) => {
  const { host, client } = await setup(t, {}, { maxFrameBytes: 4000 })
  await client.openSession('limits')
  const err = await rejection(client.uploadVectors([{ id: 'a', vector: new Array(2000).fill(1) }]))
  t.match(err, { code: 'limit_exceeded', retryable: false })
  t.equal(host.requests.length, 0, 'nothing sent')
  t.type((await client.ping()).ts, 'number', 'and the counter was not burnt')
  t.equal(host.requests[0]?.counter, 1n)
})

t.test('close(): pending requests reject, no reconnect afterwards', async (t) => {
  const { host, client } = await setup(t)
  await client.openSession('bye')
  host.handler = () => ({ ignore: true })
  const pending = rejection(client.ping())
  const events: string[] = []
  client.on('reconnecting', () => events.push('reconnecting'))
  client.on('disconnected', () => events.push('disconnected'))
  await within(client.close(), 5000, 'close')
  t.match(await pending, { code: 'disconnected', retryable: false })
  t.notOk(client.connected)
  t.match(await rejection(client.ping()), { code: 'disconnected', retryable: false })
  t.match(await rejection(client.openSession('bye')), { code: 'disconnected' })
  await new Promise((r) => setTimeout(r, 100))
  t.same(events, [])
  t.equal(host.conns.length, 1)
  await client.close() // idempotent
})

t.test('pinned host key skips GET /v1/host; a wrong pin fails the init', async (t) => {
  const host = await FakeHost.start()
  t.teardown(() => host.close())
  const identity = generateIdentity()
  const client = await SessionClient.connect(`http://127.0.0.1:${host.port}/`, { hostPublicKey: host.publicKey, identity })
  t.teardown(() => client.close())
  await client.openSession('pinned')
  t.equal(host.hostInfoGets, 0)
  t.equal(client.hostInfo, undefined)
  t.equal(client.identity, identity)

  const wrong = await SessionClient.connect(host.url, { hostPublicKey: Buffer.from(nacl.randomBytes(32)).toString('base64') })
  t.teardown(() => wrong.close())
  t.equal((await rejection(wrong.openSession('pinned2'))).code, 'decrypt_failed', 'the host cannot open the box')
})

t.test('connect refuses a host of another protocol, and an unreachable host', async (t) => {
  const host = await FakeHost.start({ protocol: 2 })
  t.teardown(() => host.close())
  t.match(await rejection(SessionClient.connect(host.url)), { code: 'protocol_error', retryable: false })
  const port = host.port
  await host.close()
  t.match(await rejection(SessionClient.connect(`ws://127.0.0.1:${port}`)), { code: 'disconnected', retryable: true })
})
