import t from 'tap'
import nacl from 'tweetnacl'
import { boxBefore, x25519PrivateKey, verifyDetached } from '@rag-session-host/client/node-crypto'

t.test('native X25519 + HSalsa20 equals nacl.box.before on random keys', async (t) => {
  let mismatches = 0
  for (let i = 0; i < 300; i++) {
    const ours = nacl.box.keyPair()
    const peer = nacl.box.keyPair()
    const expected = nacl.box.before(peer.publicKey, ours.secretKey)
    const actual = boxBefore(peer.publicKey, x25519PrivateKey(ours.secretKey))
    if (Buffer.compare(Buffer.from(expected), Buffer.from(actual)) !== 0) mismatches++
  }
  t.equal(mismatches, 0, 'all 300 shared keys agree')
})

t.test('a box sealed by tweetnacl opens with the native shared key', async (t) => {
  const host = nacl.box.keyPair()
  const eph = nacl.box.keyPair()
  const nonce = nacl.randomBytes(24)
  const box = nacl.box(Buffer.from('hello'), nonce, host.publicKey, eph.secretKey)
  const key = boxBefore(eph.publicKey, x25519PrivateKey(host.secretKey))
  t.same(Buffer.from(nacl.box.open.after(box, nonce, key)!).toString(), 'hello')
})

t.test('boxBefore refuses a key of the wrong size and a low-order point', async (t) => {
  const host = x25519PrivateKey(nacl.box.keyPair().secretKey)
  t.throws(() => boxBefore(new Uint8Array(31), host))
  t.throws(() => boxBefore(new Uint8Array(32), host), 'all-zero public key has no shared secret')
})

t.test('native Ed25519 verify agrees with tweetnacl', async (t) => {
  for (let i = 0; i < 50; i++) {
    const kp = nacl.sign.keyPair()
    const msg = nacl.randomBytes(1 + i)
    const sig = nacl.sign.detached(msg, kp.secretKey)
    t.equal(verifyDetached(msg, sig, kp.publicKey), true)
    const bad = Uint8Array.from(sig)
    bad[i % 64]! ^= 1
    t.equal(verifyDetached(msg, bad, kp.publicKey), nacl.sign.detached.verify(msg, bad, kp.publicKey))
  }
  t.equal(verifyDetached(new Uint8Array(1), new Uint8Array(63), new Uint8Array(32)), false, 'short signature')
  t.equal(verifyDetached(new Uint8Array(1), new Uint8Array(64), new Uint8Array(32).fill(255)), false, 'invalid point')
})

t.test('native key generation and signing agree with tweetnacl byte for byte', async (t) => {
  const { generateBoxKeyPair } = await import('@rag-session-host/client/node-crypto')
  const { signDetached } = await import('@rag-session-host/client/node-crypto')
  for (let i = 0; i < 50; i++) {
    const kp = generateBoxKeyPair()
    t.same(nacl.scalarMult.base(kp.secretKey), kp.publicKey, 'public key matches the secret')
    const signer = nacl.sign.keyPair()
    const msg = nacl.randomBytes(i * 3)
    t.same(signDetached(msg, signer.secretKey), nacl.sign.detached(msg, signer.secretKey), 'Ed25519 is deterministic: same signature')
  }
  t.throws(() => signDetached(new Uint8Array(1), new Uint8Array(32)))
})
