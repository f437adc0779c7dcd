// Nonces: 24 bytes. Client-to-host nonces carry a big-endian uint64 counter in
// bytes 16-23 (contract section 3); host-to-client nonces are fully random.
import { randomFillSync } from 'node:crypto'
import { NONCE_BYTES } from './nacl-sizes.js'

const COUNTER_OFFSET = 16

export function randomNonce(): Uint8Array {
  return randomFillSync(new Uint8Array(NONCE_BYTES))
}

export function nonceCounter(nonce: Uint8Array): bigint {
  return new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength).getBigUint64(COUNTER_OFFSET, false)
}

/** A counter nonce: 16 random bytes, then `counter` big-endian. */
export function counterNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES)
  randomFillSync(nonce, 0, COUNTER_OFFSET)
  new DataView(nonce.buffer).setBigUint64(COUNTER_OFFSET, counter, false)
  return nonce
}
