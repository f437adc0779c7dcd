// secretbox (XSalsa20-Poly1305) for sealed messages, with base64 on the
// wire. libsodium's (sodium-native, a dependency: ~20x tweetnacl's speed,
// the same bytes) unless it does not load here, then tweetnacl, the
// reference the tests compare it with. Large boxes are sealed and opened on
// the frame worker (dispatch/frame-offload.ts), small ones inline.
import { loadSodiumSecretbox, naclSecretbox, type Secretbox } from '@rag-session-host/client/node-crypto'
import { decodeBase64, encodeBase64, randomNonce } from '@rag-session-host/client/shared'

export const secretbox: Secretbox = loadSodiumSecretbox() ?? naclSecretbox

export type OpenResult = { ok: true; plaintext: Uint8Array } | { ok: false; reason: 'malformed' | 'failed' }
export interface Sealed {
  nonce: string
  ciphertext: string
}

/** Opens base64 `ciphertext`; 'malformed' when it is not strict base64, 'failed' when it does not authenticate. */
export function openBase64(ciphertext: string, nonce: Uint8Array, key: Uint8Array): OpenResult {
  const box = decodeBase64(ciphertext)
  if (!box) return { ok: false, reason: 'malformed' }
  const plaintext = secretbox.open(box, nonce, key)
  return plaintext ? { ok: true, plaintext } : { ok: false, reason: 'failed' }
}

export function sealBase64(plaintext: Uint8Array, key: Uint8Array): Sealed {
  const nonce = randomNonce()
  return { nonce: encodeBase64(nonce), ciphertext: encodeBase64(secretbox.seal(plaintext, nonce, key)) }
}
