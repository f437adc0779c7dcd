import t from 'tap'
import nacl from 'tweetnacl'
import { preopenFrame } from '../../src/crypto/frame-preopen.js'
import { encodeBase64, counterNonce } from '@rag-session-host/client/shared'

const key = nacl.randomBytes(32)
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
const nonce = counterNonce(7n)
const sealed = encodeBase64(nacl.secretbox(bytes({ type: 'ping', id: 'r1' }), nonce, key))
const frame = { type: 'encrypted_message', id: 'r1', session_id: 's1', nonce: encodeBase64(nonce), ciphertext: sealed }

t.test('opens an encrypted_message for the given session and key', async (t) => {
  const r = preopenFrame(bytes(frame), 's1', key)
  t.equal(r.kind, 'opened')
  if (r.kind !== 'opened') return
  t.equal(r.id, 'r1')
  t.same([...r.nonce], [...nonce])
  t.same(JSON.parse(new TextDecoder().decode(r.plaintext)), { type: 'ping', id: 'r1' })
})

t.test('reports boxes that do not open, with the reason', async (t) => {
  t.same(preopenFrame(bytes(frame), 's1', nacl.randomBytes(32)), { kind: 'unopened', id: 'r1', reason: 'failed' })
  t.same(preopenFrame(bytes({ ...frame, ciphertext: 'a b' }), 's1', key), { kind: 'unopened', id: 'r1', reason: 'malformed' })
})

t.test('hands back any other object for the usual path', async (t) => {
  for (const other of [
    { ...frame, session_id: 's2' },
    { ...frame, id: '' },
    { ...frame, nonce: 'AAAA' },
    { ...frame, ciphertext: 5 },
    { ...frame, type: 'encrypted_session_init' },
  ]) {
    const r = preopenFrame(bytes(other), 's1', key)
    t.equal(r.kind, 'frame')
    if (r.kind === 'frame') t.same(r.frame, other)
  }
})

t.test('refuses what is not a UTF-8 JSON object', async (t) => {
  t.same(preopenFrame(new Uint8Array([0x22, 0xff, 0x22]), 's1', key), { kind: 'invalid', reason: 'utf8' })
  t.same(preopenFrame(bytes('{nope'), 's1', key), { kind: 'invalid', reason: 'json' })
  t.same(preopenFrame(bytes('[1]'), 's1', key), { kind: 'invalid', reason: 'object' })
  t.same(preopenFrame(bytes('null'), 's1', key), { kind: 'invalid', reason: 'object' })
})
