// Ed25519 detached signature check, natively (tweetnacl's verify costs
// milliseconds; Node's takes tens of microseconds).
import { createPublicKey, verify } from 'node:crypto'
import { SIGNATURE_BYTES, SIGN_PUBLIC_KEY_BYTES } from './nacl-sizes.js'

export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== SIGN_PUBLIC_KEY_BYTES) return false
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' })
    return verify(null, message, key, signature)
  } catch {
    // An invalid point is just a signature that does not verify.
    return false
  }
}
