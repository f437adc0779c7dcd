// Ed25519 detached signatures, natively (tweetnacl's sign and verify cost
// milliseconds; Node's take tens of microseconds). Ed25519 is deterministic,
// so native signatures equal tweetnacl's byte for byte.
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { encodeBase64Url } from '../shared/encoding.js'
import { SIGNATURE_BYTES, SIGN_PUBLIC_KEY_BYTES } from '../shared/sizes.js'

export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== SIGN_PUBLIC_KEY_BYTES) return false
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: encodeBase64Url(publicKey) }, format: 'jwk' })
    return verify(null, message, key, signature)
  } catch {
    // An invalid point is just a signature that does not verify.
    return false
  }
}

/** nacl.sign.detached(message, secretKey) with tweetnacl's 64-byte secret key (seed || public key). */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError('an Ed25519 secret key is 64 bytes')
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: encodeBase64Url(secretKey.subarray(0, 32)), x: encodeBase64Url(secretKey.subarray(32)) }, format: 'jwk' })
  return new Uint8Array(sign(null, message, key))
}
