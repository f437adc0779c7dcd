// The layout of journal segments and snapshots on disk (docs/OPERATIONS.md):
//
//   header (48 bytes): "RSHJ" | version u16 | kind u8 | 0 u8 | file number u32
//                      | salt (16) | key check (16) | crc32 of the bytes before it
//   records:           length u32 | crc32 u32 | sealed record (length bytes)
//
// The crc (over length and sealed bytes) finds torn and damaged frames
// cheaply; the AEAD tag is what authenticates. Integers are little-endian.
import { crc32 } from 'node:zlib'
import { FileKey, SALT_BYTES, TAG_BYTES } from './sealing.js'

export const MAGIC = Buffer.from('RSHJ', 'latin1')
export const FORMAT_VERSION = 1
export const HEADER_BYTES = 48
export const FRAME_OVERHEAD = 8 + TAG_BYTES
/** Larger than any record we write (an upload frame is at most MAX_FRAME_BYTES): a bigger length is damage. */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024

export type FileKind = 'journal' | 'snapshot'
const KIND_CODE: Record<FileKind, number> = { journal: 1, snapshot: 2 }

export interface Header {
  kind: FileKind
  number: number
  key: FileKey
}

export function writeHeader(kind: FileKind, number: number, hostSecret: Uint8Array): { bytes: Buffer; key: FileKey } {
  const salt = FileKey.newSalt()
  const key = FileKey.derive(hostSecret, salt)
  const b = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(b, 0)
  b.writeUInt16LE(FORMAT_VERSION, 4)
  b.writeUInt8(KIND_CODE[kind], 6)
  b.writeUInt32LE(number, 8)
  salt.copy(b, 12)
  key.keyCheck().copy(b, 12 + SALT_BYTES)
  b.writeUInt32LE(crc32(b.subarray(0, 44)), 44)
  return { bytes: b, key }
}

/** Why a file cannot be read at all, or its header. */
export class UnreadableFile extends Error {}

export function readHeader(buf: Buffer, hostSecret: Uint8Array): Header {
  if (buf.length < HEADER_BYTES) throw new UnreadableFile('shorter than a header')
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new UnreadableFile('not a rag-session-host journal file')
  if (buf.readUInt32LE(44) !== crc32(buf.subarray(0, 44))) throw new UnreadableFile('header checksum mismatch')
  const version = buf.readUInt16LE(4)
  if (version !== FORMAT_VERSION) throw new UnreadableFile(`format version ${version}; this host reads version ${FORMAT_VERSION}`)
  const code = buf.readUInt8(6)
  const kind = (Object.keys(KIND_CODE) as FileKind[]).find((k) => KIND_CODE[k] === code)
  if (!kind) throw new UnreadableFile(`unknown file kind ${code}`)
  const key = FileKey.derive(hostSecret, buf.subarray(12, 12 + SALT_BYTES))
  if (!key.keyCheck().equals(buf.subarray(12 + SALT_BYTES, 44))) throw new UnreadableFile('sealed with another host key')
  return { kind, number: buf.readUInt32LE(8), key }
}

/** Frames one record: `index` is its place in the file (the nonce). */
export function frameRecord(key: FileKey, index: number, plaintext: Buffer): Buffer {
  const sealedBytes = plaintext.length + TAG_BYTES
  const out = Buffer.allocUnsafe(8 + sealedBytes)
  out.writeUInt32LE(sealedBytes, 0)
  key.sealInto(index, plaintext, out, 8)
  out.writeUInt32LE(crc32(out.subarray(8), crc32(out.subarray(0, 4))), 4)
  return out
}

export type ScanEnd =
  | { kind: 'clean' }
  /** The last frame is incomplete or unwritten: a write the crash cut short. */
  | { kind: 'torn'; at: number; bytes: number }
  /** Damage followed by more data: not a torn write. */
  | { kind: 'corrupt'; at: number; reason: string }

export interface Scan {
  header: Header
  /** Plaintexts of the readable records, in order. */
  records: Buffer[]
  end: ScanEnd
}

/** Reads every record of a whole file (header first); stops at the first frame that does not read. */
export function scanFile(buf: Buffer, hostSecret: Uint8Array): Scan {
  const header = readHeader(buf, hostSecret)
  const records: Buffer[] = []
  let at = HEADER_BYTES
  const torn = (): Scan => ({ header, records, end: { kind: 'torn', at, bytes: buf.length - at } })
  const corrupt = (reason: string): Scan => ({ header, records, end: { kind: 'corrupt', at, reason } })
  while (at < buf.length) {
    if (buf.length - at < 8) return torn()
    const len = buf.readUInt32LE(at)
    if (len < TAG_BYTES || len > MAX_RECORD_BYTES) return allZero(buf, at) ? torn() : corrupt(`impossible record length ${len}`)
    const end = at + 8 + len
    if (end > buf.length) return torn()
    const crc = crc32(buf.subarray(at + 8, end), crc32(buf.subarray(at, at + 4)))
    // A bad last frame is a write cut short; a bad frame with data after it is damage.
    if (crc !== buf.readUInt32LE(at + 4)) return end === buf.length ? torn() : corrupt('record checksum mismatch')
    const plain = header.key.open(records.length, buf.subarray(at + 8, end))
    if (!plain) return corrupt('record does not authenticate')
    records.push(plain)
    at = end
  }
  return { header, records, end: { kind: 'clean' } }
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}
