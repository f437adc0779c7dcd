// Journal entries as Redis holds them (cluster/entry-seal.ts): sealed like
// the disk journal, one salt per sealer; damage, truncation and another host
// secret are refused, never read as something else. No Redis needed.
import t from 'tap'
import nacl from 'tweetnacl'
import { EntryOpener, EntrySealer, UnreadableEntry } from '../../src/cluster/entry-seal.js'
import { decodeRecord, encodeRecord } from '../../src/journal/records.js'

const secret = nacl.randomBytes(32)
const record = { t: 'message' as const, s: 'sid', seq: 1, attempt: 1, role: 'user' as const, content: 'hello', ts: 1 }

t.test('sealed entries open, alone or packed together (a snapshot chunk)', async (t) => {
  const sealer = new EntrySealer(secret)
  const one = sealer.seal(encodeRecord(record))
  const two = sealer.seal(encodeRecord({ ...record, seq: 2, content: 'again' }))
  t.notOk(one.includes(Buffer.from('hello')), 'no plaintext in the entry')
  const opener = new EntryOpener(secret)
  t.same(decodeRecord(opener.openAll(one)[0]!), record)
  t.same(
    opener.openAll(Buffer.concat([one, two])).map((p) => decodeRecord(p)),
    [record, { ...record, seq: 2, content: 'again' }],
  )
  const other = new EntrySealer(secret).seal(encodeRecord(record))
  t.not(other.subarray(0, 16).toString('hex'), one.subarray(0, 16).toString('hex'), 'each sealer has its own salt')
  t.same(decodeRecord(opener.openAll(other)[0]!), record)
})

t.test('damage, truncation, another secret and a moved index are refused', async (t) => {
  const entry = new EntrySealer(secret).seal(encodeRecord(record))
  const opener = new EntryOpener(secret)
  t.throws(() => opener.openAll(entry.subarray(0, 10)), /shorter than its head/)
  t.ok(catchErr(() => opener.openAll(entry.subarray(0, 10))) instanceof UnreadableEntry, 'as UnreadableEntry')
  t.throws(() => opener.openAll(entry.subarray(0, entry.length - 1)), /overruns/)
  const flipped = Buffer.from(entry)
  flipped[flipped.length - 1]! ^= 1
  t.throws(() => opener.openAll(flipped), /checksum/)
  t.throws(() => new EntryOpener(nacl.randomBytes(32)).openAll(entry), /does not authenticate/)
  // Another index under the same salt: the nonce differs, so it does not open (an entry cannot be replayed elsewhere in the stream).
  const moved = Buffer.from(entry)
  moved.writeUInt32LE(7, 16)
  t.throws(() => opener.openAll(moved), /does not authenticate/)
})

function catchErr(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
