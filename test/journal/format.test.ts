// The journal's bytes: records, their sealing, file headers and frames, and
// the scan that tells a clean file from a torn tail and from damage.
import t from 'tap'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { FORMAT_VERSION, HEADER_BYTES, frameRecord, readHeader, scanFile, UnreadableFile, writeHeader } from '../../src/journal/file-format.js'
import { listDir, moveAside, segmentName, snapshotName } from '../../src/journal/layout.js'
import { decodeRecord, encodeRecord, type JournalRecord } from '../../src/journal/records.js'
import { FileKey, TAG_BYTES } from '../../src/journal/sealing.js'
import { crc32 } from 'node:zlib'

const secret = randomBytes(32)

const every: JournalRecord[] = [
  { t: 'created', s: 'a', seq: 1, owner: 'o', ts: 1 },
  { t: 'attempt', s: 'a', attempt: 2, ts: 2 },
  { t: 'message', s: 'a', seq: 1, attempt: 2, role: 'user', content: 'héllo 🌍', ts: 3 },
  { t: 'vectors', s: 'a', replace: true, dims: 3, ids: ['x', 'y'], meta: [{ k: 'v' }, {}], units: new Float32Array([1, 0, 0, 0, 0.6, 0.8]), ts: 4 },
  { t: 'vectors', s: 'a', replace: false, dims: 2, ids: [], meta: [], units: new Float32Array(0), ts: 4 },
  { t: 'deleted', s: 'a', ids: ['x'], ts: 5 },
  { t: 'cleared', s: 'a', ts: 6 },
  { t: 'status', s: 'a', status: 'abandoned', ts: 7 },
  { t: 'dropped', s: 'a', reason: 'retention', ts: 8 },
  { t: 'probe', ts: 9 },
  { t: 'void', segment: 3, records: 7 },
  { t: 'session', s: 'a', seq: 1, owner: 'o', createdAt: 1, attempt: 1, status: 'ended', autoRecovered: false, statusSince: 1, lastActiveAt: 2 },
  { t: 'messages', s: 'a', list: [{ seq: 1, attempt: 1, role: 'assistant', content: 'c', ts: 1 }] },
  { t: 'snapshot_end', sessions: 1, nextSeq: 2, segment: 4 },
]

t.test('every record decodes to what was encoded', async (t) => {
  for (const r of every) t.same(decodeRecord(encodeRecord(r)), r, r.t)
  // Vector values come back in an aligned copy, even from an odd offset in a larger buffer.
  const bytes = encodeRecord(every[3]!)
  const shifted = Buffer.alloc(bytes.length + 1)
  bytes.copy(shifted, 1)
  const back = decodeRecord(shifted.subarray(1)) as Extract<JournalRecord, { t: 'vectors' }>
  t.ok(back.units instanceof Float32Array)
  t.same(Array.from(back.units), [1, 0, 0, 0, 0.6000000238418579, 0.800000011920929])
})

t.test('decoding refuses what encodeRecord never makes', async (t) => {
  const head = (json: string, tail = 0): Buffer => {
    const b = Buffer.alloc(4 + Buffer.byteLength(json) + tail)
    b.writeUInt32LE(Buffer.byteLength(json), 0)
    b.write(json, 4)
    return b
  }
  t.throws(() => decodeRecord(head('{"t":"probe"}').subarray(0, 8)), /overruns/)
  t.throws(() => decodeRecord(head('null')), /no type/)
  t.throws(() => decodeRecord(head('{"x":1}')), /no type/)
  t.throws(() => decodeRecord(head('{"t":"vectors","dims":2,"ids":["a"]}', 4)), /wrong number of values/)
  t.throws(() => decodeRecord(head('{nope')), SyntaxError)
})

t.test('sealing: per-file keys, the index is the nonce, tampering never opens', async (t) => {
  const salt = FileKey.newSalt()
  const key = FileKey.derive(secret, salt)
  const plain = Buffer.from('a record')
  const out = Buffer.alloc(plain.length + TAG_BYTES)
  key.sealInto(5, plain, out, 0)
  t.same(key.open(5, out), plain)
  t.equal(key.open(6, out), undefined, 'at another index it does not open: a record cannot move')
  t.equal(FileKey.derive(secret, FileKey.newSalt()).open(5, out), undefined, 'another file key does not open it')
  t.equal(FileKey.derive(randomBytes(32), salt).open(5, out), undefined, 'another host secret does not open it')
  const flipped = Buffer.from(out)
  flipped[0]! ^= 1
  t.equal(key.open(5, flipped), undefined, 'a flipped bit does not open')
  t.equal(key.open(5, out.subarray(0, TAG_BYTES - 1)), undefined, 'shorter than a tag')
  t.same(FileKey.derive(secret, salt).keyCheck(), key.keyCheck(), 'the key check is stable')
  t.notSame(FileKey.derive(randomBytes(32), salt).keyCheck(), key.keyCheck())
  t.notOk(out.includes(plain), 'the plaintext is not in the sealed bytes')
})

/** A whole file: header and framed records. */
function file(records: Buffer[], kind: 'journal' | 'snapshot' = 'journal', number = 1): { buf: Buffer; key: FileKey } {
  const { bytes, key } = writeHeader(kind, number, secret)
  return { buf: Buffer.concat([bytes, ...records.map((p, i) => frameRecord(key, i, p))]), key }
}

t.test('headers: each reason a file cannot be read', async (t) => {
  const { bytes } = writeHeader('snapshot', 42, secret)
  t.equal(bytes.length, HEADER_BYTES)
  t.match(readHeader(bytes, secret), { kind: 'snapshot', number: 42 })
  const patched = (at: number, value: number, fixCrc = true): Buffer => {
    const b = Buffer.from(bytes)
    b.writeUInt8(value, at)
    if (fixCrc) b.writeUInt32LE(crc32(b.subarray(0, 44)), 44)
    return b
  }
  const cases: [Buffer, Uint8Array, RegExp][] = [
    [bytes.subarray(0, 20), secret, /shorter than a header/],
    [Buffer.concat([Buffer.from('NOPE'), bytes.subarray(4)]), secret, /not a rag-session-host journal file/],
    [patched(8, 43, false), secret, /header checksum mismatch/],
    [patched(4, FORMAT_VERSION + 1), secret, /format version 2; this host reads version 1/],
    [patched(6, 9), secret, /unknown file kind 9/],
    [bytes, randomBytes(32), /sealed with another host key/],
  ]
  for (const [buf, key, reason] of cases) t.throws(() => readHeader(buf, key), { constructor: UnreadableFile, message: reason })
})

t.test('scan: clean, torn tails and damage', async (t) => {
  const plains = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]
  const { buf } = file(plains)
  const clean = scanFile(buf, secret)
  t.same(clean.end, { kind: 'clean' })
  t.same(clean.records, plains)
  t.same(scanFile(buf.subarray(0, HEADER_BYTES), secret).records, [], 'a header alone is a clean empty file')

  const lastAt = buf.length - (8 + 5 + TAG_BYTES)
  const torn = (b: Buffer, at: number, what: string): void => {
    const scan = scanFile(b, secret)
    t.same(scan.end, { kind: 'torn', at, bytes: b.length - at }, what)
    t.equal(scan.records.length, 2, `${what}: the records before it read`)
  }
  torn(buf.subarray(0, lastAt + 3), lastAt, 'a frame cut inside its length')
  torn(buf.subarray(0, buf.length - 1), lastAt, 'a frame cut inside its record')
  torn(Buffer.concat([buf.subarray(0, lastAt), Buffer.alloc(64)]), lastAt, 'zeros where the last frame should be (space allocated, never written)')
  const badLast = Buffer.from(buf)
  badLast[badLast.length - 1]! ^= 1
  torn(badLast, lastAt, 'a last frame whose checksum fails')

  const corrupt = (b: Buffer, reason: RegExp, what: string): void => {
    const scan = scanFile(b, secret)
    t.equal(scan.end.kind, 'corrupt', what)
    t.match(scan.end, { reason })
  }
  const midFlip = Buffer.from(buf)
  midFlip[HEADER_BYTES + 10]! ^= 1
  corrupt(midFlip, /record checksum mismatch/, 'a damaged frame with more after it')
  const badLength = Buffer.from(buf)
  badLength.writeUInt32LE(3, HEADER_BYTES)
  corrupt(badLength, /impossible record length 3/, 'a length no record has, not zeros')
  // A frame that checks out but does not authenticate: put there by something else.
  const { buf: other } = file(plains)
  const spliced = Buffer.concat([buf.subarray(0, HEADER_BYTES), other.subarray(HEADER_BYTES)])
  corrupt(spliced, /does not authenticate/, "another file's frames")
  const swapped = Buffer.concat([buf.subarray(0, HEADER_BYTES), frameRecord(FileKey.derive(secret, buf.subarray(12, 28)), 1, plains[0]!)])
  corrupt(swapped, /does not authenticate/, 'a frame moved to another place in its file')
})

t.test('layout: names, listing, moving aside', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-layout-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.equal(segmentName(7), 'journal-00000007.log')
  t.equal(snapshotName(12), 'snapshot-00000012.snap')
  for (const name of [segmentName(10), segmentName(2), snapshotName(9), snapshotName(3), 'snapshot-00000011.snap.tmp', 'host.key', 'journal-1.log', 'notes.txt'])
    writeFileSync(join(dir, name), '')
  t.same(listDir(dir), { segments: [2, 10], snapshots: [3, 9], temporary: ['snapshot-00000011.snap.tmp'] })
  const moved = moveAside(dir, segmentName(2), Date.UTC(2026, 11, 3, 7, 8, 9, 10))
  t.equal(moved, 'journal-00000002.log.corrupt-2026-12-03T07-08-09-010Z')
  t.ok(readdirSync(dir).includes(moved))
  t.same(listDir(dir).segments, [10], 'a file moved aside is not read again')
})
