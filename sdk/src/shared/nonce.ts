// Nonces are 24 bytes (PROTOCOL.md §1). Client-to-host nonces carry a
// big-endian uint64 counter in bytes 16-23 (§3.2); host-to-client nonces are fully
// random. Random bytes come from WebCrypto, which Node and browsers both have.
import { NONCE_BYTES } from './sizes.js'

const COUNTER_OFFSET = 16

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  // getRandomValues fills at most 65 536 bytes a call.
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

/**
 * Random bytes for nonces, drawn from WebCrypto a block at a time: one
 * getRandomValues call costs ~10 µs in Node whatever its size up to a few
 * KB, and every sealed message needs a nonce (a tenth of a ping's host time
 * went there). Each byte is handed out once. Only nonces, which are public,
 * come from here; keys never sit in a pool.
 */
const POOL_BYTES = 4096
let pool: Uint8Array = new Uint8Array(0)
let pooled = 0

function fromPool(out: Uint8Array): Uint8Array {
  if (pooled + out.length > pool.length) {
    pool = randomBytes(POOL_BYTES)
    pooled = 0
  }
  out.set(pool.subarray(pooled, pooled + out.length))
  pool.fill(0, pooled, pooled + out.length)
  pooled += out.length
  return out
}

export function randomNonce(): Uint8Array {
  return fromPool(new Uint8Array(NONCE_BYTES))
}

export function nonceCounter(nonce: Uint8Array): bigint {
  return new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength).getBigUint64(COUNTER_OFFSET, false)
}

/** A counter nonce: 16 random bytes, then `counter` big-endian. */
export function counterNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES)
  fromPool(nonce.subarray(0, COUNTER_OFFSET))
  new DataView(nonce.buffer).setBigUint64(COUNTER_OFFSET, counter, false)
  return nonce
}
