// The last step of NaCl's crypto_box key agreement: HSalsa20 over the raw
// X25519 secret gives the box key (what nacl.box.before returns). Native and
// WebCrypto X25519 give the raw secret; this turns it into NaCl's key.
import nacl from 'tweetnacl'
import { KEY_BYTES } from '../shared/sizes.js'

const ZERO16 = new Uint8Array(16)
// "expand 32-byte k", the Salsa20 constant NaCl feeds to HSalsa20.
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107])

// tweetnacl ships lowlevel at run time but leaves it out of its typings.
const { crypto_core_hsalsa20 } = (
  nacl as unknown as {
    lowlevel: { crypto_core_hsalsa20: (out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array) => number }
  }
).lowlevel

/** The box key from a raw X25519 shared secret; wipes the secret. */
export function boxKeyFromSharedSecret(shared: Uint8Array): Uint8Array {
  const key = new Uint8Array(KEY_BYTES)
  crypto_core_hsalsa20(key, ZERO16, shared, SIGMA)
  shared.fill(0)
  return key
}
