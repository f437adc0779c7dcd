// The host's secretbox (crypto/secretbox.ts) is libsodium's here, and it is
// byte for byte tweetnacl's, the reference: boxes sealed by either open with
// the other, and what does not authenticate or is not base64 is refused alike.
import t from 'tap'
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64 } from '@rag-session-host/client/shared'
import { openBase64, sealBase64, secretbox } from '../../src/crypto/secretbox.js'

t.test('the host runs on libsodium (sodium-native is a dependency)', async (t) => {
  t.equal(secretbox.name, 'sodium')
})

t.test('sealed here opens with tweetnacl and the other way round, at every size', async (t) => {
  for (const size of [0, 1, 15, 16, 17, 1000, 65_536, (2 << 20) + 3]) {
    const key = nacl.randomBytes(32)
    const plaintext = nacl.randomBytes(size)
    const sealed = sealBase64(plaintext, key)
    const nonce = decodeBase64(sealed.nonce)!
    t.same(nacl.secretbox.open(decodeBase64(sealed.ciphertext)!, nonce, key), plaintext, `${size} bytes: tweetnacl opens ours`)
    t.equal(sealed.ciphertext, encodeBase64(nacl.secretbox(plaintext, nonce, key)), `${size} bytes: the same box`)
    const theirs = encodeBase64(nacl.secretbox(plaintext, nonce, key))
    t.same(openBase64(theirs, nonce, key), { ok: true, plaintext }, `${size} bytes: we open tweetnacl's`)
  }
})

t.test('refusals: a tampered box, another key, a box shorter than its MAC, not base64', async (t) => {
  const key = nacl.randomBytes(32)
  const nonce = nacl.randomBytes(24)
  const box = nacl.secretbox(new Uint8Array([1, 2, 3]), nonce, key)
  const tampered = box.slice()
  tampered[tampered.length - 1]! ^= 1
  t.same(openBase64(encodeBase64(tampered), nonce, key), { ok: false, reason: 'failed' })
  t.same(openBase64(encodeBase64(box), nonce, nacl.randomBytes(32)), { ok: false, reason: 'failed' })
  for (const n of [0, 15]) t.same(openBase64(encodeBase64(new Uint8Array(n)), nonce, key), { ok: false, reason: 'failed' }, `${n} bytes`)
  t.same(openBase64('not base64!', nonce, key), { ok: false, reason: 'malformed' })
})
