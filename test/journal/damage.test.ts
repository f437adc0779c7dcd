// Recovery from journal files a crash or a disk left damaged: a torn last
// record is cut off with a warning; any other damage, another key or another
// format version moves the file (and all after it) aside with an error naming
// it, and the host starts with everything readable before it. Never a crash
// loop, never a silent empty start.
import t from 'tap'
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { identityFromSecret } from '../../src/crypto/host-identity.js'
import { FORMAT_VERSION, HEADER_BYTES, frameRecord, readHeader, writeHeader } from '../../src/journal/file-format.js'
import { segmentName, snapshotName } from '../../src/journal/layout.js'
import { encodeRecord } from '../../src/journal/records.js'
import { crc32 } from 'node:zlib'
import { startHost, type TestHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

interface Home {
  secretKey: Uint8Array
  /** The journal's sealing secret, as the host derives it from its key. */
  storage: Uint8Array
  fresh(): string
  journal(dataDir: string, name: string): string
}

function home(t: Teardown): Home {
  const secretKey = nacl.box.keyPair().secretKey
  const dirs: string[] = []
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  return {
    secretKey,
    storage: identityFromSecret(secretKey, 'env').storageKey,
    fresh() {
      const d = mkdtempSync(join(tmpdir(), 'rsh-damage-'))
      dirs.push(d)
      return d
    },
    journal: (dataDir, name) => join(dataDir, 'journal', name),
  }
}

const start = (t: Teardown, h: Home, dataDir: string, key = h.secretKey): Promise<TestHost> => startHost(t, {}, { dataDir, secretKey: key })

/**
 * A host writes session 's' and `n` messages, one request each, and is left
 * as a crash leaves it: the copy of its files taken while it ran. Segment 1
 * then holds record 0 (created) and records 1..n (the messages).
 */
async function crashed(t: Teardown, h: Home, n: number, into = h.fresh(), sessionId = 's'): Promise<string> {
  const live = h.fresh()
  if (existsSync(join(into, 'journal'))) cpSync(into, live, { recursive: true })
  const host = await start(t, h, live)
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId, identity: generateIdentity() })
  for (let i = 1; i <= n; i++) await w.request('appendMessage', { role: 'user', content: `m${i}` })
  cpSync(live, into, { recursive: true })
  await w.close()
  await host.close()
  return into
}

/** Byte offsets of each frame of a journal file. */
function frames(path: string): number[] {
  const buf = readFileSync(path)
  const out: number[] = []
  for (let at = HEADER_BYTES; at < buf.length; at += 8 + buf.readUInt32LE(at)) out.push(at)
  return out
}

const contents = (host: TestHost, id = 's'): string[] => (host.server.ctx.sessions.get(id)?.history.all() ?? []).map((m) => m.content)

const flipByte = (path: string, at: number): void => {
  const buf = readFileSync(path)
  buf[at]! ^= 0x40
  writeFileSync(path, buf)
}

const asideFiles = (dataDir: string): string[] => readdirSync(join(dataDir, 'journal')).filter((n) => n.includes('.corrupt-'))

t.test('a torn last record is cut off with a warning; everything before it loads', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 3)
  const seg = h.journal(dir, segmentName(1))
  const size = statSync(seg).size
  appendFileSync(seg, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5])) // a frame the crash cut after its first bytes
  const host = await start(t, h, dir)
  t.same(contents(host), ['m1', 'm2', 'm3'])
  t.match(host.log.events('journal.truncated'), [{ level: 'warn', file: segmentName(1), at: size, bytes: 9 }])
  t.equal(host.log.events('journal.corrupt').length, 0, 'a torn tail is not damage')
  t.equal(statSync(seg).size, size, 'the torn bytes are gone from the file')
  t.same(asideFiles(dir), [])
  await host.close()
  const again = await start(t, h, dir)
  t.equal(again.log.events('journal.truncated').length, 0, 'the next start finds a clean file')
  t.same(contents(again), ['m1', 'm2', 'm3'])
})

t.test('a last record whose checksum fails was never acknowledged: it is dropped, the rest loads', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 3)
  const seg = h.journal(dir, segmentName(1))
  flipByte(seg, statSync(seg).size - 3)
  const host = await start(t, h, dir)
  t.same(contents(host), ['m1', 'm2'])
  t.equal(host.log.events('journal.truncated').length, 1)
  t.equal(host.log.events('journal.corrupt').length, 0)
})

t.test('damage inside a segment: moved aside with an error; the records before it load; a snapshot follows at once', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 4)
  const seg = h.journal(dir, segmentName(1))
  const at = frames(seg)[3]! // message m3
  flipByte(seg, at + 12)
  const host = await start(t, h, dir)
  t.same(contents(host), ['m1', 'm2'], 'what was readable before the damage')
  const [line] = host.log.events('journal.corrupt')
  t.match(line, { level: 'error', file: segmentName(1), reason: new RegExp(`record checksum mismatch at byte ${at}`) })
  t.same(asideFiles(dir), [line!.moved_to], 'the damaged file is kept, aside, under the name the error gives')
  t.match(host.log.events('journal.recovered')[0], { damaged: true, messages: 2 })
  await host.log.waitFor('journal.snapshot')
  const ready = await fetch(`${host.url}/ready`)
  t.equal(ready.status, 200, 'the host serves')
  await host.close()

  const again = await start(t, h, dir)
  t.same(contents(again), ['m1', 'm2'], 'the next start reads the snapshot')
  t.equal(again.log.events('journal.corrupt').length, 0, 'and finds nothing damaged')
})

t.test('the segments after a damaged one are moved aside too: never replayed over a gap', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 2)
  await crashed(t, h, 2, dir, 't') // a second run: segment 2 holds session 't'
  t.ok(existsSync(h.journal(dir, segmentName(2))))
  flipByte(h.journal(dir, segmentName(1)), frames(h.journal(dir, segmentName(1)))[1]! + 12)
  const host = await start(t, h, dir)
  t.same(contents(host), [], 'only what came before the damage')
  t.equal(host.server.ctx.sessions.get('t'), undefined, 'nothing of the segment after it')
  t.match(host.log.events('journal.corrupt'), [
    { file: segmentName(1), reason: /checksum/ },
    { file: segmentName(2), reason: 'it follows a damaged journal file' },
  ])
  t.equal(asideFiles(dir).length, 2)
})

t.test('files sealed with another host key are moved aside, not read and not deleted', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 2)
  const other = nacl.box.keyPair().secretKey
  const host = await start(t, h, dir, other)
  t.equal(host.server.ctx.sessions.size, 0)
  t.match(host.log.events('journal.corrupt'), [{ level: 'error', file: segmentName(1), reason: 'sealed with another host key' }])
  t.equal(asideFiles(dir).length, 1, 'kept for the operator')
})

t.test('a file moved aside after a start with the wrong key comes back when renamed and started with the right one', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 2)
  const wrong = await start(t, h, dir, nacl.box.keyPair().secretKey)
  await wrong.close()
  // The wrong host wrote its own snapshot and segment; the operator moves them away and the original back (OPERATIONS.md).
  const restored = h.fresh()
  mkdirSync(join(restored, 'journal'))
  cpSync(join(dir, 'journal', asideFiles(dir)[0]!), h.journal(restored, segmentName(1)))
  const right = await start(t, h, restored)
  t.same(contents(right), ['m1', 'm2'])
})

t.test('another format version is moved aside with the version named', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 1)
  const seg = h.journal(dir, segmentName(1))
  const buf = readFileSync(seg)
  buf.writeUInt16LE(FORMAT_VERSION + 1, 4)
  buf.writeUInt32LE(crc32(buf.subarray(0, 44)), 44)
  writeFileSync(seg, buf)
  const host = await start(t, h, dir)
  t.match(host.log.events('journal.corrupt'), [{ reason: /format version 2; this host reads version 1/ }])
  t.equal(host.server.ctx.sessions.size, 0)
})

t.test('a snapshot without its end record, or cut short, is damage: moved aside, with the segments after it', async (t) => {
  for (const how of ['no end record', 'cut short'] as const) {
    const h = home(t)
    const dir = h.fresh()
    const first = await start(t, h, dir)
    const w = await Wire.open(first.wsUrl, first.hostPublicKey)
    await w.init({ sessionId: 's', identity: generateIdentity() })
    await w.request('appendMessage', { role: 'user', content: 'm1' })
    await w.close()
    await first.close() // writes snapshot 2
    const snap = h.journal(dir, snapshotName(2))
    const at = frames(snap)
    truncateSync(snap, how === 'no end record' ? at.at(-1)! : statSync(snap).size - 2)
    const host = await start(t, h, dir)
    const errors = host.log.events('journal.corrupt')
    t.match(errors[0], { file: snapshotName(2), reason: how === 'no end record' ? 'snapshot has no end record' : /snapshot cut short/ }, how)
    t.ok(
      errors.slice(1).every((e) => e.reason === 'it follows a damaged journal file'),
      `${how}: later segments are not replayed over the gap`,
    )
    t.ok(existsSync(join(dir, 'journal')), `${how}: the host starts`)
    await host.close()
  }
})

t.test('leftovers: an unfinished snapshot is removed, a segment with half a header is ignored, a file of the wrong kind is damage', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 1)
  const tmp = h.journal(dir, `${snapshotName(7)}.tmp`)
  writeFileSync(tmp, 'half a snapshot')
  writeFileSync(h.journal(dir, segmentName(2)), Buffer.from('RSHJ\x01\x00'))
  const host = await start(t, h, dir)
  t.notOk(existsSync(tmp), 'the unfinished snapshot is gone')
  t.match(host.log.events('journal.truncated'), [{ file: segmentName(2), bytes: 6 }])
  t.same(contents(host), ['m1'])
  t.equal(host.log.events('journal.corrupt').length, 0)
  await host.close()

  const h2 = home(t)
  const dir2 = await crashed(t, h2, 1)
  const { bytes } = writeHeader('snapshot', 2, h2.storage)
  writeFileSync(h2.journal(dir2, segmentName(2)), bytes)
  const wrongKind = await start(t, h2, dir2)
  t.match(wrongKind.log.events('journal.corrupt'), [{ file: segmentName(2), reason: 'a snapshot file where a journal was expected' }])
  t.same(contents(wrongKind), ['m1'], 'what came before it loads')
})

t.test('a void record caps an earlier segment: a write that half landed is never replayed', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 4)
  // What the writer leaves after a failed write: a new segment that first says how many records of the old one count.
  const { bytes, key } = writeHeader('journal', 2, h.storage)
  writeFileSync(h.journal(dir, segmentName(2)), Buffer.concat([bytes, frameRecord(key, 0, encodeRecord({ t: 'void', segment: 1, records: 3 }))]))
  const host = await start(t, h, dir)
  t.same(contents(host), ['m1', 'm2'], 'records 0..2 of segment 1 count (created, m1, m2); m3 and m4 do not')
  t.match(host.log.events('journal.recovered')[0], { records: 4, damaged: false })
})

t.test('a record that authenticates but does not decode is damage', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 2)
  const seg = h.journal(dir, segmentName(1))
  const buf = readFileSync(seg)
  const { key } = readHeader(buf, h.storage)
  appendFileSync(seg, frameRecord(key, frames(seg).length, Buffer.from('\x05\x00\x00\x00{nope')))
  const host = await start(t, h, dir)
  t.match(host.log.events('journal.corrupt'), [{ file: segmentName(1), reason: /undecodable record/ }])
  t.same(contents(host), ['m1', 'm2'])
})

t.test('a journal path that is not a regular file reads as empty (never read to its end)', async (t) => {
  const h = home(t)
  const dir = await crashed(t, h, 1)
  symlinkSync('/dev/zero', h.journal(dir, segmentName(2)))
  const host = await start(t, h, dir)
  t.same(contents(host), ['m1'])
  t.equal(host.log.events('journal.corrupt').length, 0)
})
