// encrypted_message over a real socket: the envelope checks of
// PROTOCOL.md §3.3 in order, plaintext errors that carry the id, replay protection,
// garbage frames, and limits on the connection.
import t, { type Test } from 'tap'
import nacl from 'tweetnacl'
import { encodeBase64, counterNonce } from '@rag-session-host/client/shared'
import { sealJson, sealRequest } from '@rag-session-host/client'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

async function session(t: Test, overrides = {}) {
  const host = await startHost(t, overrides)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'msg', identity: generateIdentity() })
  return { host, wire }
}

t.test('a message frame sent twice is carried out once', async (t) => {
  const { wire } = await session(t)
  const frame = wire.seal('appendMessage', { role: 'user', content: 'once' })
  wire.send(frame)
  wire.send(frame)
  const first = wire.open(await wire.reply(frame.id))
  t.equal(first.ok, true)
  const second = await wire.reply(frame.id)
  t.equal(second.type, 'error')
  t.equal(second.ok, false)
  t.equal(second.error.code, 'replayed')
  t.equal(second.id, frame.id)
  const h = await wire.request('getHistory')
  t.same(
    h.messages.map((m: any) => m.content),
    ['once'],
    'stored once',
  )
})

t.test('nonce counter: 0 refused, must strictly increase, only decrypting frames move it', async (t) => {
  const { wire } = await session(t)
  const send = async (counter: bigint, key = wire.key!) => {
    const id = `n${counter}-${Math.random()}`
    wire.send(sealRequest({ sessionId: 'msg', key, counter, request: { type: 'ping', id } }))
    return wire.reply(id)
  }
  t.equal((await send(0n)).error?.code, 'replayed', 'counter 0 is never valid')
  t.equal(wire.open(await send(10n)).ok, true, 'first may be any value >= 1')
  t.equal((await send(10n)).error?.code, 'replayed')
  t.equal((await send(9n)).error?.code, 'replayed')
  t.equal((await send(50n, nacl.randomBytes(32))).error?.code, 'decrypt_failed', 'wrong key')
  t.equal(wire.open(await send(11n)).ok, true, 'a frame that did not decrypt did not move the counter')
  // A frame that decrypts but holds garbage still moves the counter.
  const id = 'garbage-inside'
  const nonce = counterNonce(20n)
  wire.send({ type: 'encrypted_message', id, session_id: 'msg', ...sealJson(new TextEncoder().encode('not json'), wire.key!, nonce) })
  t.equal((await wire.reply(id)).error?.code, 'bad_request')
  t.equal((await send(20n)).error?.code, 'replayed', 'counter 20 was used by the garbage frame')
  t.equal(wire.open(await send(2n ** 64n - 1n)).ok, true, 'the largest counter')
})

t.test('envelope failures are plaintext errors carrying the id, in the contract order', async (t) => {
  const { wire } = await session(t)
  const good = wire.seal('ping')
  const cases: [string, Record<string, unknown>, string, string | null][] = [
    ['missing id', { ...good, id: undefined }, 'bad_request', null],
    ['id too long', { ...good, id: 'y'.repeat(129) }, 'bad_request', null],
    ['bad session_id', { ...good, id: 'b1', session_id: '' }, 'bad_request', 'b1'],
    ['nonce wrong size', { ...good, id: 'b2', nonce: encodeBase64(new Uint8Array(8)) }, 'bad_request', 'b2'],
    ['nonce missing', { ...good, id: 'b3', nonce: undefined }, 'bad_request', 'b3'],
    ['ciphertext not base64', { ...good, id: 'b4', ciphertext: 'a b c' }, 'bad_request', 'b4'],
    ['ciphertext not base64 and no key', { ...good, id: 'b5', session_id: 'other', ciphertext: '!!' }, 'bad_request', 'b5'],
    ['no key for that session', { ...good, id: 'b6', session_id: 'other' }, 'no_session', 'b6'],
    ['tampered ciphertext', { ...good, id: 'b7', ciphertext: encodeBase64(new Uint8Array(40)) }, 'decrypt_failed', 'b7'],
    ['too short to hold a MAC', { ...good, id: 'b8', ciphertext: 'AAAA' }, 'decrypt_failed', 'b8'],
  ]
  for (const [name, frame, code, id] of cases) {
    wire.send(frame)
    const reply = await wire.waitFor((f) => f.type === 'error' && f.id === id)
    t.equal(reply.error.code, code, name)
    t.equal(reply.ok, false)
    t.equal(reply.error.retryable, false)
  }
  // Inside the box: id must equal the envelope's, type must be a string.
  const mismatch = sealRequest({ sessionId: 'msg', key: wire.key!, counter: ++wire.counter, request: { type: 'ping', id: 'inner' }, envelopeId: 'outer' })
  wire.send(mismatch)
  t.equal((await wire.reply('outer')).error.code, 'bad_request', 'id mismatch')
  const noType = sealRequest({ sessionId: 'msg', key: wire.key!, counter: ++wire.counter, request: { type: 5 as unknown as string, id: 'nt' } })
  wire.send(noType)
  t.equal((await wire.reply('nt')).error.code, 'bad_request', 'type not a string')
  t.equal((await wire.request('ping')).ok, true, 'the connection is still usable')
})

t.test('failures after the envelope are sealed <type>Response replies', async (t) => {
  const { wire } = await session(t)
  const unknown = await wire.request('teleport', { where: 'mars' })
  t.same(unknown.type, 'teleportResponse')
  t.equal(unknown.ok, false)
  t.equal(unknown.error.code, 'bad_request')
  const badRole = await wire.request('appendMessage', { role: 'robot', content: 'x' })
  t.equal(badRole.type, 'appendMessageResponse')
  t.equal(badRole.error.code, 'bad_request')
  const badContent = await wire.request('appendMessage', { role: 'user', content: 42 })
  t.equal(badContent.error.code, 'bad_request')
  const proto = await wire.request('__proto__')
  t.equal(proto.error.code, 'bad_request', 'no prototype lookups in the dispatch table')
  const ctor = await wire.request('constructor')
  t.equal(ctor.error.code, 'bad_request')
})

t.test('garbage frames get plaintext errors and the connection stays open', async (t) => {
  const { wire } = await session(t)
  const garbage: [string, unknown][] = [
    ['not JSON', '{"type":'],
    ['an array', '[1,2,3]'],
    ['a number', '42'],
    ['null', 'null'],
    ['a string', '"hello"'],
  ]
  for (const [name, frame] of garbage) {
    wire.send(frame)
    const reply = await wire.waitFor((f) => f.type === 'error')
    t.equal(reply.id, null, name)
    t.equal(reply.error.code, 'bad_request', name)
  }
  wire.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  const bin = await wire.waitFor((f) => f.type === 'error')
  t.equal(bin.error.code, 'bad_request', 'binary frame')
  wire.send({ type: 'mystery', id: 'm1' })
  const unknown = await wire.reply('m1')
  t.equal(unknown.type, 'error')
  t.equal(unknown.error.code, 'bad_request', 'unknown frame type carries the id')
  t.equal((await wire.request('ping')).ok, true)
})

t.test('a frame above max_frame_bytes closes the connection with 1009', async (t) => {
  const host = await startHost(t, { maxFrameBytes: 4096, maxMetadataBytes: 1024 })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  wire.send('x'.repeat(5000))
  const closed = await wire.closed
  t.equal(closed.code, 1009)
})

t.test('rate limit: a sealed, typed, retryable reply', async (t) => {
  const { wire } = await session(t, { rateLimitPerSec: 1, rateLimitBurst: 3 })
  const frames = Array.from({ length: 6 }, () => wire.seal('ping'))
  for (const f of frames) wire.send(f)
  const replies = await Promise.all(frames.map(async (f) => wire.open(await wire.reply(f.id))))
  const limited = replies.filter((r) => !r.ok)
  t.ok(limited.length >= 2, 'some requests were limited')
  for (const r of limited) {
    t.equal(r.type, 'pingResponse')
    t.equal(r.error.code, 'rate_limited')
    t.equal(r.error.retryable, true)
    t.ok(r.error.retry_after_ms > 0)
  }
  t.equal(replies.filter((r) => r.ok).length + limited.length, 6, 'every request got exactly one reply')
})

t.test('a reply too large for a frame is a typed limit_exceeded', async (t) => {
  const { wire } = await session(t, { maxFrameBytes: 8192, maxMetadataBytes: 1024, maxMessageChars: 4000 })
  for (let i = 0; i < 3; i++) await wire.request('appendMessage', { role: 'user', content: 'z'.repeat(3000) })
  const all = await wire.request('getHistory')
  t.equal(all.ok, false)
  t.equal(all.error.code, 'limit_exceeded')
  const some = await wire.request('getHistory', { limit: 1 })
  t.equal(some.ok, true)
  t.equal(some.messages.length, 1)
})

t.test('a text frame that is not UTF-8 gets a plaintext error; the connection stays open', async (t) => {
  const { wire } = await session(t)
  wire.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  const reply = await wire.waitFor((f) => f.type === 'error')
  t.equal(reply.error.code, 'bad_request')
  t.equal(reply.id, null)
  t.equal((await wire.request('ping')).ok, true)
})

t.test('large frames are opened and sealed off the event loop, byte for byte', async (t) => {
  const { host, wire } = await session(t)
  t.ok(host.config.cryptoOffloadBytes <= 65536)
  // ~1.5 MB of JSON number arrays: far above the offload threshold.
  const vectors = Array.from({ length: 200 }, (_, i) => ({ id: `big-${i}`, vector: Array.from({ length: 384 }, (_, j) => Math.cos(i + j / 7)), metadata: { i } }))
  const up = await wire.request('uploadVectors', { vectors })
  t.equal(up.ok, true)
  t.equal(up.uploaded, 200)
  const big = 'é'.repeat(30_000) // 60 KB of UTF-8 per message
  for (let i = 0; i < 3; i++) await wire.request('appendMessage', { role: 'user', content: big + i })
  const h = await wire.request('getHistory') // a ~180 KB reply, sealed by the worker
  t.equal(h.ok, true)
  t.same(
    h.messages.map((m: any) => m.content),
    [big + 0, big + 1, big + 2],
  )
  const found = await wire.request('searchVectors', { vector: vectors[5]!.vector, k: 1 })
  t.equal(found.results[0].id, 'big-5')
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="opened"\} [1-9]/, 'the big frames were opened on the worker')
})

t.test('frames of CRYPTO_OFFLOAD_BYTES and more take the worker path with the same answers, in the same order', async (t) => {
  const { host, wire } = await session(t, { maxMessageChars: 200_000 })
  const pad = 'p'.repeat(host.config.cryptoOffloadBytes) // any envelope field makes the frame big
  const big = (f: object) => ({ ...f, pad })
  const expectError = async (frame: unknown, id: string | null, code: string, name: string) => {
    wire.send(frame)
    const reply = await wire.waitFor((f) => f.type === 'error' && f.id === id)
    t.equal(reply.error.code, code, name)
  }

  // Garbage of that size.
  await expectError('{' + pad, null, 'bad_request', 'big frame that is not JSON')
  await expectError(`[${JSON.stringify(pad)}]`, null, 'bad_request', 'big JSON array')
  wire.ws.send(Buffer.concat([Buffer.from('{"x":"'), Buffer.alloc(70_000, 0xff), Buffer.from('"}')]), { binary: false })
  t.equal((await wire.waitFor((f) => f.type === 'error' && f.id === null)).error.code, 'bad_request', 'big frame that is not UTF-8')

  // Envelope failures, each carrying the id.
  const good = wire.seal('ping', {}, 'big-ok')
  await expectError(big({ ...good, id: 'bw1', ciphertext: encodeBase64(new Uint8Array(64)) }), 'bw1', 'decrypt_failed', 'box that does not open')
  await expectError(big({ ...good, id: 'bw2', ciphertext: '!!!!' }), 'bw2', 'bad_request', 'ciphertext not base64')
  await expectError(big({ ...good, id: 'bw3', session_id: 'someone-else' }), 'bw3', 'no_session', 'another session')
  await expectError(big({ ...good, id: undefined }), null, 'bad_request', 'no id')
  await expectError(big({ ...good, id: 'bw4', nonce: 'AAAA' }), 'bw4', 'bad_request', 'bad nonce')
  const mismatch = sealRequest({ sessionId: 'msg', key: wire.key!, counter: ++wire.counter, request: { type: 'ping', id: 'inner' }, envelopeId: 'bw5' })
  await expectError(big(mismatch), 'bw5', 'bad_request', 'plaintext id differs')

  // A big request is carried out once; the same frame again is replayed.
  const append = wire.seal('appendMessage', { role: 'user', content: 'c'.repeat(100_000) }, 'bw6')
  wire.send(append)
  t.equal(wire.open(await wire.reply('bw6')).ok, true)
  await expectError(append, 'bw6', 'replayed', 'big frame sent twice')
  const h = await wire.request('getHistory', { limit: 5 })
  t.equal(h.messages.length, 1, 'stored once')
  t.equal(h.messages[0].content.length, 100_000)

  // Init frames that big are refused as before.
  const init = (await wire.init({ sessionId: 'msg', identity: generateIdentity(), requestId: 'probe' })).frame
  wire.send(big({ ...init, id: 'bw7' }))
  t.equal((await wire.reply('bw7')).type, 'session_init_ack', 'an init stays an init on the worker path')
  t.equal((await wire.request('ping')).ok, true, 'the connection is still usable')

  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="opened"\} [1-9]/, 'big frames were opened on the worker')
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="invalid"\} 3/)
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="unopened"\} 2/)
  t.notMatch(metrics, /rsh_offloaded_frames_total\{outcome="failed"\}/, 'the worker never failed')
})
