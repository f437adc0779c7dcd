// Journal records and snapshot chunks in Redis are sealed exactly as the
// journal files on disk are (journal/sealing.ts, journal/file-format.ts):
// ChaCha20-Poly1305 under a key derived from the host secret and a random
// salt, a nonce that is the record's index under that salt, and the same
// frame (length, crc32, sealed bytes). A file's header carries its salt once;
// a stream entry carries its own:
//
//   salt (16) | index u32 LE | frame
//
// One salt per sealer: a host takes a new one for every session it acquires
// (and every snapshot), so no (key, nonce) pair ever repeats.
import { crc32 } from 'node:zlib'
import { frameRecord } from '../journal/file-format.js'
import { FileKey, SALT_BYTES, TAG_BYTES } from '../journal/sealing.js'

const HEAD_BYTES = SALT_BYTES + 4

export class EntrySealer {
  readonly #salt = FileKey.newSalt()
  readonly #key: FileKey
  #next = 0

  constructor(hostSecret: Uint8Array) {
    this.#key = FileKey.derive(hostSecret, this.#salt)
  }

  seal(plaintext: Buffer): Buffer {
    const index = this.#next++
    const frame = frameRecord(this.#key, index, plaintext)
    const out = Buffer.allocUnsafe(HEAD_BYTES + frame.length)
    this.#salt.copy(out, 0)
    out.writeUInt32LE(index, SALT_BYTES)
    frame.copy(out, HEAD_BYTES)
    return out
  }
}

/** Why an entry cannot be read: damage, or a writer with another host secret. */
export class UnreadableEntry extends Error {}

/** Opens sealed entries; keeps the keys it derived (one per salt). */
export class EntryOpener {
  readonly #secret: Uint8Array
  readonly #keys = new Map<string, FileKey>()

  constructor(hostSecret: Uint8Array) {
    this.#secret = hostSecret
  }

  /** The plaintexts of the entries packed in `buf` (one stream entry, or a snapshot chunk of many). */
  openAll(buf: Buffer): Buffer[] {
    const out: Buffer[] = []
    let at = 0
    while (at < buf.length) {
      if (buf.length - at < HEAD_BYTES + 8) throw new UnreadableEntry('entry shorter than its head')
      const salt = buf.subarray(at, at + SALT_BYTES)
      const index = buf.readUInt32LE(at + SALT_BYTES)
      const f = at + HEAD_BYTES
      const len = buf.readUInt32LE(f)
      const end = f + 8 + len
      if (len < TAG_BYTES || end > buf.length) throw new UnreadableEntry('entry length overruns it')
      if (crc32(buf.subarray(f + 8, end), crc32(buf.subarray(f, f + 4))) !== buf.readUInt32LE(f + 4)) throw new UnreadableEntry('entry checksum mismatch')
      const plain = this.#key(salt).open(index, buf.subarray(f + 8, end))
      if (!plain) throw new UnreadableEntry('entry does not authenticate (damaged, or sealed with another HOST_SECRET_KEY)')
      out.push(plain)
      at = end
    }
    return out
  }

  #key(salt: Buffer): FileKey {
    const hex = salt.toString('hex')
    let key = this.#keys.get(hex)
    if (!key) {
      key = FileKey.derive(this.#secret, salt)
      this.#keys.set(hex, key)
    }
    return key
  }
}
