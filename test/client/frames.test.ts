// frames.ts checked against the contract text (PROTOCOL.md §2 and §3) with
// tweetnacl used directly on the host's side.
import t from 'tap'
import nacl from 'tweetnacl'
import {
  HostError,
  buildSessionInit,
  generateIdentity,
  identityFromSecretKey,
  openInitAck,
  openSealed,
  sealRequest,
  decodeVectorBase64,
  encodeVectorBase64,
  backoffCeiling,
  backoffDelay,
  endpoints,
  parseHostInfo,
} from '@rag-session-host/client'

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'))
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'))

function hostSeal(value: unknown, key: Uint8Array): { nonce: string; ciphertext: string } {
  const nonce = nacl.randomBytes(24)
  return { nonce: b64(nonce), ciphertext: b64(nacl.secretbox(utf8(JSON.stringify(value)), nonce, key)) }
}

interface T {
  ok(value: unknown, msg: string): unknown
  equal(found: unknown, wanted: unknown, msg: string): unknown
  fail(msg: string): unknown
}

/** Runs `fn`, asserts it throws a HostError with `code`, and returns that error. */
function rejectsCode(t: T, fn: () => unknown, code: string, msg: string): HostError | undefined {
  try {
    fn()
  } catch (err) {
    t.ok(err instanceof HostError, `${msg}: throws a HostError`)
    t.equal((err as HostError).code, code, `${msg}: code ${code}`)
    return err as HostError
  }
  t.fail(`${msg}: did not throw`)
  return undefined
}

t.test('generateIdentity: Ed25519 key pair in base64', async (t) => {
  const id = generateIdentity()
  t.equal(unb64(id.publicKey).length, 32)
  t.equal(unb64(id.secretKey).length, 64)
  const sig = nacl.sign.detached(utf8('x'), unb64(id.secretKey))
  t.ok(nacl.sign.detached.verify(utf8('x'), sig, unb64(id.publicKey)), 'keys belong together')
  t.not(generateIdentity().publicKey, id.publicKey, 'fresh each time')
  t.same(identityFromSecretKey(id.secretKey), id, 'rebuilt from its secret key')
  t.throws(() => identityFromSecretKey('AAAA'))
})

t.test('buildSessionInit: envelope and payload exactly per PROTOCOL.md §2', async (t) => {
  const host = nacl.box.keyPair()
  const identity = generateIdentity()
  const before = Date.now()
  const built = buildSessionInit({ sessionId: 'chat:42', requestId: 'req-1', hostPublicKey: host.publicKey, identity })
  const f = built.frame
  t.same(Object.keys(f).sort(), ['ciphertext', 'eph_pub', 'id', 'nonce', 'session_id', 'type'])
  t.equal(f.type, 'encrypted_session_init')
  t.equal(f.id, 'req-1')
  t.equal(f.session_id, 'chat:42')
  t.equal(unb64(f.eph_pub).length, 32)
  t.equal(f.eph_pub, built.ephPub)
  t.equal(unb64(f.nonce).length, 24)
  t.equal(b64(unb64(f.nonce)), f.nonce, 'standard base64 with padding')

  const opened = nacl.box.open(unb64(f.ciphertext), unb64(f.nonce), unb64(f.eph_pub), host.secretKey)
  if (!opened) throw new Error('the host cannot open the init box')
  const payload = JSON.parse(Buffer.from(opened).toString('utf8')) as Record<string, unknown>
  t.same(Object.keys(payload).sort(), ['client_pub', 'new_attempt', 'session_key', 'sig', 'ts'])
  t.equal(payload.session_key, b64(built.sessionKey))
  t.equal(built.sessionKey.length, 32)
  t.equal(payload.client_pub, identity.publicKey)
  t.equal(payload.new_attempt, false)
  t.ok(Number.isInteger(payload.ts) && (payload.ts as number) >= before && (payload.ts as number) <= Date.now(), 'ts is now, in ms')
  const text = 'session-init-v1|chat:42|' + f.eph_pub + '|' + String(payload.ts)
  t.ok(nacl.sign.detached.verify(utf8(text), unb64(String(payload.sig)), unb64(identity.publicKey)), 'sig verifies over the contract text')
  t.equal(unb64(String(payload.sig)).length, 64)

  const other = nacl.box.keyPair()
  t.equal(nacl.box.open(unb64(f.ciphertext), unb64(f.nonce), unb64(f.eph_pub), other.secretKey), null, 'only the host key opens it')
})

t.test('buildSessionInit: fresh ephemeral key and K every time; options honoured', async (t) => {
  const host = nacl.box.keyPair()
  const identity = generateIdentity()
  const a = buildSessionInit({ sessionId: 's', requestId: '1', hostPublicKey: host.publicKey, identity })
  const b = buildSessionInit({ sessionId: 's', requestId: '2', hostPublicKey: host.publicKey, identity })
  t.not(a.ephPub, b.ephPub)
  t.not(b64(a.sessionKey), b64(b.sessionKey))
  t.not(a.frame.nonce, b.frame.nonce)

  const eph = nacl.box.keyPair()
  const key = nacl.randomBytes(32)
  const nonce = nacl.randomBytes(24)
  const c = buildSessionInit({
    sessionId: 's',
    requestId: '3',
    hostPublicKey: host.publicKey,
    identity,
    ephKeyPair: eph,
    sessionKey: key,
    ts: 1763700000000,
    newAttempt: true,
    nonce,
  })
  t.equal(c.ephPub, b64(eph.publicKey))
  t.equal(c.frame.nonce, b64(nonce))
  const opened = nacl.box.open(unb64(c.frame.ciphertext), nonce, eph.publicKey, host.secretKey)
  if (!opened) throw new Error('does not open')
  const payload = JSON.parse(Buffer.from(opened).toString('utf8')) as Record<string, unknown>
  t.equal(payload.ts, 1763700000000)
  t.equal(payload.new_attempt, true)
  t.equal(payload.session_key, b64(key))
  t.ok(nacl.sign.detached.verify(utf8(`session-init-v1|s|${c.ephPub}|1763700000000`), unb64(String(payload.sig)), unb64(identity.publicKey)))
})

t.test('buildSessionInit test hooks: wrong signed text, transformed payload', async (t) => {
  const host = nacl.box.keyPair()
  const identity = generateIdentity()
  const wrong = buildSessionInit({ sessionId: 's', requestId: '1', hostPublicKey: host.publicKey, identity, signatureText: 'something else' })
  const p = wrong.payload
  t.notOk(nacl.sign.detached.verify(utf8(`session-init-v1|s|${wrong.ephPub}|${p.ts}`), unb64(p.sig), unb64(identity.publicKey)))
  t.ok(nacl.sign.detached.verify(utf8('something else'), unb64(p.sig), unb64(identity.publicKey)))

  const tr = buildSessionInit({ sessionId: 's', requestId: '1', hostPublicKey: host.publicKey, identity, transformPayload: (x) => ({ ...x, ts: 'soon' }) })
  const opened = nacl.box.open(unb64(tr.frame.ciphertext), unb64(tr.frame.nonce), unb64(tr.ephPub), host.secretKey)
  if (!opened) throw new Error('does not open')
  t.equal((JSON.parse(Buffer.from(opened).toString('utf8')) as { ts: unknown }).ts, 'soon')
})

t.test('openInitAck: opens the sealed info with K, refuses anything else', async (t) => {
  const key = nacl.randomBytes(32)
  const info = { created: true, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 }
  const ack = { type: 'session_init_ack', id: 'r1', ok: true, ...hostSeal(info, key) }
  t.same(openInitAck(ack, key), info)

  const wrongKey = rejectsCode(t, () => openInitAck(ack, nacl.randomBytes(32)), 'decrypt_failed', 'another key')
  t.equal(wrongKey?.retryable, false)
  t.equal(wrongKey?.requestId, 'r1')

  const ct = unb64(ack.ciphertext)
  ct[5] = (ct[5] as number) ^ 1
  rejectsCode(t, () => openInitAck({ ...ack, ciphertext: b64(ct) }, key), 'decrypt_failed', 'tampered ciphertext')
  rejectsCode(t, () => openInitAck({ ...ack, ...hostSeal({ created: 'yes' }, key) }, key), 'protocol_error', 'malformed info')
  rejectsCode(t, () => openInitAck({ ...ack, type: 'error' }, key), 'protocol_error', 'not an ack')
  rejectsCode(t, () => openInitAck({ ...ack, nonce: 'AAAA' }, key), 'protocol_error', 'short nonce')

  const fail = { type: 'session_init_ack', id: 'r2', ok: false, error: { code: 'capacity_exceeded', message: 'full', retryable: true, retry_after_ms: 1500 } }
  const err = rejectsCode(t, () => openInitAck(fail, key), 'capacity_exceeded', 'ok:false')
  t.equal(err?.retryable, true)
  t.equal(err?.retryAfterMs, 1500)
  t.equal(err?.requestId, 'r2')
  t.equal(err?.message, 'full')
})

t.test('sealRequest: secretbox under K with a big-endian counter in nonce bytes 16-23', async (t) => {
  const key = nacl.randomBytes(32)
  const request = { type: 'ping', id: 'abc' }
  const f = sealRequest({ sessionId: 's1', request, key, counter: 0x0102030405060708n })
  t.same(Object.keys(f).sort(), ['ciphertext', 'id', 'nonce', 'session_id', 'type'])
  t.equal(f.type, 'encrypted_message')
  t.equal(f.id, 'abc')
  t.equal(f.session_id, 's1')
  const nonce = unb64(f.nonce)
  t.equal(nonce.length, 24)
  t.same([...nonce.subarray(16)], [1, 2, 3, 4, 5, 6, 7, 8], 'counter bytes, big-endian')
  const opened = nacl.secretbox.open(unb64(f.ciphertext), nonce, key)
  if (!opened) throw new Error('does not open')
  t.same(JSON.parse(Buffer.from(opened).toString('utf8')), request)

  const one = unb64(sealRequest({ sessionId: 's1', request, key, counter: 1n }).nonce)
  t.same([...one.subarray(16)], [0, 0, 0, 0, 0, 0, 0, 1])
  const max = unb64(sealRequest({ sessionId: 's1', request, key, counter: 2n ** 64n - 1n }).nonce)
  t.same([...max.subarray(16)], [255, 255, 255, 255, 255, 255, 255, 255])
  const again = unb64(sealRequest({ sessionId: 's1', request, key, counter: 1n }).nonce)
  t.not(b64(again.subarray(0, 16)), b64(one.subarray(0, 16)), 'bytes 0-15 are random')

  const reused = sealRequest({ sessionId: 's1', request, key, counter: 99n, nonce })
  t.equal(reused.nonce, f.nonce, 'a given nonce is used as is')
  t.equal(sealRequest({ sessionId: 's1', request, key, counter: 2n, envelopeId: 'other' }).id, 'other')
})

t.test('openSealed: round trip, and every kind of bad frame', async (t) => {
  const key = nacl.randomBytes(32)
  const frame = { type: 'encrypted_message', id: 'x', session_id: 's', ...hostSeal({ type: 'pingResponse', id: 'x', ok: true, ts: 5 }, key) }
  t.same(openSealed(frame, key), { type: 'pingResponse', id: 'x', ok: true, ts: 5 })
  // The SDK's own request frames open too.
  t.same(openSealed(sealRequest({ sessionId: 's', request: { type: 'ping', id: 'y' }, key, counter: 3n }), key), { type: 'ping', id: 'y' })

  for (let i = 0; i < unb64(frame.ciphertext).length; i += 7) {
    const ct = unb64(frame.ciphertext)
    ct[i] = (ct[i] as number) ^ 0x80
    let code = ''
    try {
      openSealed({ ...frame, ciphertext: b64(ct) }, key)
    } catch (err) {
      code = (err as HostError).code
    }
    if (code !== 'decrypt_failed') t.fail(`byte ${i} changed: ${code || 'opened'}`)
  }
  const n = unb64(frame.nonce)
  n[0] = (n[0] as number) ^ 1
  rejectsCode(t, () => openSealed({ ...frame, nonce: b64(n) }, key), 'decrypt_failed', 'changed nonce')
  rejectsCode(t, () => openSealed(frame, nacl.randomBytes(32)), 'decrypt_failed', 'wrong key')
  rejectsCode(t, () => openSealed({ ...frame, ciphertext: 'not base64!' }, key), 'protocol_error', 'bad base64')
  rejectsCode(t, () => openSealed({ ...frame, nonce: b64(nacl.randomBytes(23)) }, key), 'protocol_error', '23-byte nonce')
  rejectsCode(t, () => openSealed({ id: 'x' }, key), 'protocol_error', 'no ciphertext')
  rejectsCode(t, () => openSealed({ ...frame, ...hostSeal([1, 2], key) }, key), 'protocol_error', 'array plaintext')
  const nonce = nacl.randomBytes(24)
  const notJson = { nonce: b64(nonce), ciphertext: b64(nacl.secretbox(utf8('{nope'), nonce, key)) }
  rejectsCode(t, () => openSealed(notJson, key), 'protocol_error', 'not JSON')
})

t.test('vector_b64: little-endian float32', async (t) => {
  const text = encodeVectorBase64([1, -2.5, 0.1])
  const bytes = Buffer.from(text, 'base64')
  t.equal(bytes.length, 12)
  t.equal(bytes.readFloatLE(0), 1)
  t.equal(bytes.readFloatLE(4), -2.5)
  t.equal(bytes.readFloatLE(8), Math.fround(0.1))
  t.same([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f], '1.0 as LE float32')
  t.equal(encodeVectorBase64(new Float32Array([1, -2.5, 0.1])), text, 'Float32Array gives the same')
  t.equal(encodeVectorBase64(new Float32Array([9, 1, -2.5, 0.1]).subarray(1)), text, 'a subarray view is honoured')
  t.same([...(decodeVectorBase64(text) ?? [])], [1, -2.5, Math.fround(0.1)])
  t.equal(decodeVectorBase64('AAAAAAA='), undefined, 'not a whole number of floats')
})

t.test('backoff: exponential ceiling, full jitter', async (t) => {
  const o = { initialDelayMs: 100, maxDelayMs: 10_000 }
  t.same(
    [1, 2, 3, 4, 8, 100].map((a) => backoffCeiling(a, o)),
    [100, 200, 400, 800, 10_000, 10_000],
  )
  t.equal(
    backoffDelay(3, o, () => 0),
    0,
  )
  t.equal(
    backoffDelay(3, o, () => 0.5),
    200,
  )
  t.ok(backoffDelay(3, o, () => 0.9999) < 400)
})

t.test('endpoints from one base URL', async (t) => {
  t.same(endpoints('ws://h:1'), { hostInfoUrl: 'http://h:1/v1/host', wsUrl: 'ws://h:1/v1/ws' })
  t.same(endpoints('http://h:1/'), { hostInfoUrl: 'http://h:1/v1/host', wsUrl: 'ws://h:1/v1/ws' })
  t.same(endpoints('https://h/pre/'), { hostInfoUrl: 'https://h/pre/v1/host', wsUrl: 'wss://h/pre/v1/ws' })
  t.same(endpoints('wss://h/v1/ws'), { hostInfoUrl: 'https://h/v1/host', wsUrl: 'wss://h/v1/ws' })
  t.throws(() => endpoints('ftp://h'))
})

t.test('parseHostInfo: protocol 1 only', async (t) => {
  const ok = { protocol: 1, version: '1.0.0', public_key: b64(nacl.randomBytes(32)), limits: { max_k: 100 } }
  t.equal(parseHostInfo(ok).protocol, 1)
  for (const bad of [{ ...ok, protocol: 2 }, { ...ok, public_key: 'AAAA' }, { ...ok, limits: undefined }, null, []]) {
    t.throws(() => parseHostInfo(bad), { code: 'protocol_error' })
  }
})
