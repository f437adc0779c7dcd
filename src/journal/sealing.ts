// Sealed at rest: each file has its own key, derived with HKDF-SHA256 from the
// host's secret key and a random salt in the file's header, and every record is
// sealed with ChaCha20-Poly1305 (node:crypto, native) under a nonce that is
// its index in the file. A per-file key makes a counter nonce safe: no two
// plaintexts ever share (key, nonce), and the index binds a record to its place.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const INFO = 'rag-session-host journal v1'
export const SALT_BYTES = 16
export const TAG_BYTES = 16
const KEY_CHECK_NONCE = Buffer.alloc(12, 0xff) // never a record's: record indexes stay far below 2^64 - 1

export class FileKey {
  readonly #key: Buffer

  private constructor(key: Buffer) {
    this.#key = key
  }

  static derive(hostSecret: Uint8Array, salt: Uint8Array): FileKey {
    return new FileKey(Buffer.from(hkdfSync('sha256', hostSecret, salt, INFO, 32)))
  }

  static newSalt(): Buffer {
    return randomBytes(SALT_BYTES)
  }

  /** A tag over nothing: lets a reader tell "another key" from "damaged records" before reading any. */
  keyCheck(): Buffer {
    const c = createCipheriv('chacha20-poly1305', this.#key, KEY_CHECK_NONCE, { authTagLength: TAG_BYTES })
    c.final()
    return c.getAuthTag()
  }

  /** ciphertext || tag, written into `out` at `offset` (its length is plaintext + TAG_BYTES). */
  sealInto(index: number, plaintext: Buffer, out: Buffer, offset: number): void {
    const c = createCipheriv('chacha20-poly1305', this.#key, nonceOf(index), { authTagLength: TAG_BYTES })
    const n = c.update(plaintext).copy(out, offset)
    c.final()
    c.getAuthTag().copy(out, offset + n)
  }

  /** The plaintext, or undefined when the box does not authenticate. */
  open(index: number, sealed: Buffer): Buffer | undefined {
    if (sealed.length < TAG_BYTES) return undefined
    const d = createDecipheriv('chacha20-poly1305', this.#key, nonceOf(index), { authTagLength: TAG_BYTES })
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const body = d.update(sealed.subarray(0, sealed.length - TAG_BYTES))
    try {
      d.final()
    } catch {
      return undefined
    }
    return body
  }
}

function nonceOf(index: number): Buffer {
  const n = Buffer.alloc(12)
  n.writeBigUInt64LE(BigInt(index), 4)
  return n
}
