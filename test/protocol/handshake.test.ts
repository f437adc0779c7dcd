// encrypted_session_init over a real socket: every check of PROTOCOL.md §2,
// in order, and proof that a failed init changes nothing.
import t, { type Test } from 'tap'
import nacl from 'tweetnacl'
import { buildSessionInit } from '@rag-session-host/client'
import { encodeBase64, initSignatureText } from '@rag-session-host/client/shared'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity, rid } from '../helpers/wire.js'

const HISTORY = { attempt: 'all' }

function expectAckError(t: Test, ack: Record<string, any>, code: string, id: string | null): void {
  t.equal(ack.type, 'session_init_ack')
  t.equal(ack.id, id)
  t.equal(ack.ok, false)
  t.equal(ack.error?.code, code, `code ${code}`)
  t.type(ack.error?.message, 'string')
  t.equal(typeof ack.error?.retryable, 'boolean')
}

t.test('happy init: sealed info proves the host holds K', async (t) => {
  const host = await startHost(t)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack, info } = await wire.init({ sessionId: 'happy-1', identity: generateIdentity() })
  t.equal(ack.ok, true)
  t.same(Object.keys(ack).sort(), ['ciphertext', 'id', 'nonce', 'ok', 'type'])
  t.same(info, { created: true, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 })
  const pong = await wire.request('ping')
  t.equal(pong.type, 'pingResponse')
  t.equal(pong.ok, true)
  t.type(pong.ts, 'number')
  t.equal(host.log.events('session.created').length, 1)
  await wire.close()
})

t.test('re-init on the same connection keeps history and rotates the key', async (t) => {
  const host = await startHost(t)
  const id = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'rot', identity: id })
  await wire.request('appendMessage', { role: 'user', content: 'one' }) // counter 1 under the first key
  const oldKey = wire.key!

  const { info } = await wire.init({ sessionId: 'rot', identity: id })
  t.same(info, { created: false, attempt: 1, status: 'active', vectors: 0, dims: null, history: 1, history_total: 1 })

  // The old key stops working at once.
  wire.key = oldKey
  const stale = wire.seal('ping', {})
  wire.send(stale)
  const refused = await wire.reply(stale.id)
  t.equal(refused.type, 'error')
  t.equal(refused.error.code, 'decrypt_failed')
  t.equal(refused.id, stale.id)

  // The new key works, and its counter started afresh: 1, already used under the first key, is accepted again.
  const fresh = await wire.init({ sessionId: 'rot', identity: id })
  t.equal(fresh.ack.ok, true)
  t.equal(wire.counter, 0n)
  const h = await wire.request('getHistory', HISTORY)
  t.equal(h.ok, true)
  t.same(
    h.messages.map((m: any) => m.content),
    ['one'],
  )
  t.equal(host.log.events('key.rotated').length, 3, 'one key installed per accepted init')
  t.ok(
    host.log.events('session.reinit').some((l) => l.history_total === 1),
    'reinit logs the kept counts',
  )
})

t.test('re-init on a second connection keeps history; each connection keeps its own key', async (t) => {
  const host = await startHost(t)
  const id = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'two', identity: id })
  await a.request('appendMessage', { role: 'user', content: 'from a' })
  const { info } = await b.init({ sessionId: 'two', identity: id })
  t.equal(info?.created, false)
  t.equal(info?.history_total, 1)
  t.equal((await b.request('appendMessage', { role: 'assistant', content: 'from b' })).seq, 2)
  t.equal((await a.request('ping')).ok, true, 'a still works with its own key')
  const infoA = await a.request('sessionInfo')
  t.equal(infoA.connections, 2)
  t.equal(infoA.history_total, 2)
  // b's key does not open on a's connection.
  const cross = { ...b.seal('ping') }
  a.send(cross)
  t.equal((await a.reply(cross.id)).error.code, 'decrypt_failed')
})

t.test('another identity is refused with forbidden; the owner is untouched', async (t) => {
  const host = await startHost(t)
  const owner = await Wire.open(host.wsUrl, host.hostPublicKey)
  await owner.init({ sessionId: 'mine', identity: generateIdentity() })
  await owner.request('appendMessage', { role: 'user', content: 'private' })
  const thief = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack } = await thief.init({ sessionId: 'mine', identity: generateIdentity(), requestId: 'steal' })
  expectAckError(t, ack, 'forbidden', 'steal')
  t.equal(ack.error.retryable, false)
  // The thief has no key for the session.
  thief.sessionId = 'mine'
  thief.key = nacl.randomBytes(32)
  const probe = thief.seal('getHistory')
  thief.send(probe)
  t.equal((await thief.reply(probe.id)).error.code, 'no_session')
  const h = await owner.request('getHistory')
  t.same(
    h.messages.map((m: any) => m.content),
    ['private'],
  )
  t.equal((await owner.request('sessionInfo')).connections, 1)
})

t.test('stale ts in both directions', async (t) => {
  const host = await startHost(t)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const identity = generateIdentity()
  for (const skew of [-301_000, 301_000]) {
    const { ack } = await wire.init({ sessionId: 'st', identity, ts: Date.now() + skew, requestId: `stale${skew}` })
    expectAckError(t, ack, 'stale', `stale${skew}`)
  }
  t.equal(host.server.ctx.sessions.size, 0, 'nothing created')
  const ok = await wire.init({ sessionId: 'st', identity, ts: Date.now() - 290_000 })
  t.equal(ok.ack.ok, true, 'inside the window is accepted')
})

t.test('a replayed init is refused and leaves the key and counter as they were', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const first = await wire.init({ sessionId: 'rp', identity })
  await wire.request('ping') // counter now 1
  wire.send(first.frame) // the very same init frame again
  const again = await wire.reply(first.frame.id)
  expectAckError(t, again, 'replayed', first.frame.id)
  // The current key and counter still hold: counter 1 is refused, 2 is fine.
  const pong = await wire.request('ping')
  t.equal(pong.ok, true, 'key unchanged, counter continues')
  // Replayed on another connection too.
  const other = await Wire.open(host.wsUrl, host.hostPublicKey)
  other.send(first.frame)
  expectAckError(t, await other.reply(first.frame.id), 'replayed', first.frame.id)
})

t.test('bad signature: wrong text, or another key', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const ts = Date.now()
  const wrongText = await wire.init({ sessionId: 'sig', identity, ts, signatureText: initSignatureText('other', 'x', ts), requestId: 'w1' })
  expectAckError(t, wrongText.ack, 'bad_signature', 'w1')
  const other = generateIdentity()
  const wrongKey = await wire.init({ sessionId: 'sig', identity, requestId: 'w2', transformPayload: (p) => ({ ...p, client_pub: other.publicKey }) })
  expectAckError(t, wrongKey.ack, 'bad_signature', 'w2')
  t.equal(host.server.ctx.sessions.size, 0)
})

t.test('decrypt_failed: boxed to another host key', async (t) => {
  const host = await startHost(t)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack } = await wire.init({ sessionId: 'df', identity: generateIdentity(), hostPublicKey: nacl.box.keyPair().publicKey, requestId: 'df1' })
  expectAckError(t, ack, 'decrypt_failed', 'df1')
  // A low-order eph_pub cannot open either (and must not crash the host).
  const { frame } = buildSessionInit({ sessionId: 'df', requestId: 'df3', hostPublicKey: host.hostPublicKey, identity: generateIdentity() })
  wire.send({ ...frame, eph_pub: encodeBase64(new Uint8Array(32)) })
  expectAckError(t, await wire.reply('df3'), 'decrypt_failed', 'df3')
  t.equal(host.server.ctx.sessions.size, 0, 'nothing created')
  t.equal((await wire.init({ sessionId: 'df', identity: generateIdentity() })).ack.ok, true, 'the host carries on')
})

t.test('bad_request for each malformed envelope and payload shape', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const good = (await wire.init({ sessionId: 'shape', identity, requestId: 'g0' })).frame
  const envelopes: [string, Record<string, unknown>, string | null][] = [
    ['missing id', { ...good, id: undefined }, null],
    ['empty id', { ...good, id: '' }, null],
    ['numeric id', { ...good, id: 7 }, null],
    ['id too long', { ...good, id: 'x'.repeat(129) }, null],
    ['session_id with a slash', { ...good, id: 'e1', session_id: 'a/b' }, 'e1'],
    ['session_id with a trailing newline', { ...good, id: 'e2', session_id: 'shape\n' }, 'e2'],
    ['session_id too long', { ...good, id: 'e3', session_id: 'x'.repeat(129) }, 'e3'],
    ['eph_pub not 32 bytes', { ...good, id: 'e4', eph_pub: encodeBase64(new Uint8Array(31)) }, 'e4'],
    ['nonce not 24 bytes', { ...good, id: 'e5', nonce: encodeBase64(new Uint8Array(23)) }, 'e5'],
    ['ciphertext not base64', { ...good, id: 'e6', ciphertext: '***' }, 'e6'],
    ['eph_pub missing', { ...good, id: 'e7', eph_pub: undefined }, 'e7'],
    ['ciphertext far larger than any payload', { ...good, id: 'e8', ciphertext: 'A'.repeat(70_000) + '==' }, 'e8'],
  ]
  for (const [name, frame, id] of envelopes) {
    wire.send(frame)
    const ack = await wire.waitFor((f) => f.type === 'session_init_ack' && f.id === id)
    t.equal(ack.error?.code, 'bad_request', name)
  }
  const payloads: [string, (p: any) => unknown][] = [
    ['payload not JSON', () => new TextEncoder().encode('{nope')],
    ['payload an array', () => []],
    ['session_key missing', (p) => ({ ...p, session_key: undefined })],
    ['session_key 31 bytes', (p) => ({ ...p, session_key: encodeBase64(new Uint8Array(31)) })],
    ['client_pub not base64', (p) => ({ ...p, client_pub: 'nope' })],
    ['ts a string', (p) => ({ ...p, ts: String(p.ts) })],
    ['ts fractional', (p) => ({ ...p, ts: p.ts + 0.5 })],
    ['sig 63 bytes', (p) => ({ ...p, sig: encodeBase64(new Uint8Array(63)) })],
    ['new_attempt a string', (p) => ({ ...p, new_attempt: 'yes' })],
  ]
  for (const [name, transformPayload] of payloads) {
    const requestId = rid('p')
    const { ack } = await wire.init({ sessionId: 'shape', identity, requestId, transformPayload })
    t.equal(ack.error?.code, 'bad_request', name)
    t.equal(ack.id, requestId)
  }
  t.equal((await wire.request('ping')).ok, true, 'connection and key survive every bad init')
})

t.test('capacity: a new session is refused with a retryable error; existing ones still init', async (t) => {
  const host = await startHost(t, { maxSessions: 2 })
  const identity = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'cap-1', identity })
  await wire.request('appendMessage', { role: 'user', content: 'kept' })
  const other = await Wire.open(host.wsUrl, host.hostPublicKey)
  await other.init({ sessionId: 'cap-2', identity })
  const third = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack } = await third.init({ sessionId: 'cap-3', identity, requestId: 'full' })
  expectAckError(t, ack, 'capacity_exceeded', 'full')
  t.equal(ack.error.retryable, true)
  t.type(ack.error.retry_after_ms, 'number')
  t.ok(ack.error.retry_after_ms > 0)
  t.equal(host.server.ctx.sessions.size, 2)
  const again = await third.init({ sessionId: 'cap-1', identity })
  t.equal(again.info?.history_total, 1, 'an existing session still inits and keeps its data')
})

t.test('checks run in the contract order', async (t) => {
  const host = await startHost(t, { maxSessions: 1 })
  const owner = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'ord', identity: owner })
  await wire.request('endSession')
  const thief = generateIdentity()
  // stale beats bad_signature
  const s1 = await wire.init({ sessionId: 'ord', identity: owner, ts: Date.now() - 400_000, signatureText: 'x' })
  t.equal(s1.ack.error.code, 'stale')
  // bad_signature beats forbidden
  const s2 = await wire.init({ sessionId: 'ord', identity: thief, signatureText: 'x' })
  t.equal(s2.ack.error.code, 'bad_signature')
  // forbidden beats session_ended
  const s3 = await wire.init({ sessionId: 'ord', identity: thief, newAttempt: true })
  t.equal(s3.ack.error.code, 'forbidden')
  // the owner may not start a new attempt on an ended session
  const s4 = await wire.init({ sessionId: 'ord', identity: owner, newAttempt: true })
  t.equal(s4.ack.error.code, 'session_ended')
  // a full store makes room for a new session by dropping the ended one
  const s5 = await wire.init({ sessionId: 'ord-2', identity: owner })
  t.equal(s5.ack.ok, true)
  t.equal(s5.info?.created, true)
  t.equal(host.server.ctx.sessions.get('ord'), undefined, 'the ended session was reclaimed')
})
