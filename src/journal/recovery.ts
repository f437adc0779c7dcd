// Start-up: the latest snapshot, then every journal segment after it, replayed
// through apply.ts. A torn last record (a write the crash cut short) is cut off
// with a warning. Damage anywhere else, a file of another format version or
// sealed with another key is moved aside as <name>.corrupt-<ts> with an error
// naming it, and the host starts with everything readable before the damage:
// never a crash loop, never a silent empty start.
import { closeSync, fstatSync, openSync, readSync, truncateSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { HostStore } from './apply.js'
import { applyRecord } from './apply.js'
import { HEADER_BYTES, scanFile, UnreadableFile } from './file-format.js'
import { ensureDir, listDir, moveAside, segmentName, snapshotName } from './layout.js'
import { decodeRecord, type JournalRecord } from './records.js'

export interface RecoveryReport {
  sessions: number
  messages: number
  vectors: number
  /** Bytes of the files read, and of those the journal segments. */
  bytes: number
  journalBytes: number
  records: number
  ms: number
  /** One past every journal file number on disk: where new segments start. */
  nextSegment: number
  /** Something was moved aside: the state loaded is all that could be read, and should be snapshotted now. */
  damaged: boolean
  snapshot: number | undefined
}

interface Options {
  dir: string
  hostSecret: Uint8Array
  store: HostStore
  logger: Logger
  now: () => number
}

type Read = { ok: true; records: JournalRecord[]; bytes: number } | { ok: false; records: JournalRecord[]; bytes: number; reason: string }

export function recover(o: Options): RecoveryReport {
  const t0 = performance.now()
  ensureDir(o.dir)
  const listing = listDir(o.dir)
  for (const tmp of listing.temporary) unlinkSync(join(o.dir, tmp)) // a snapshot that never finished
  const highest = Math.max(0, ...listing.segments, ...listing.snapshots)
  let bytes = 0
  let journalBytes = 0
  let records = 0
  let damaged = false
  const aside = (name: string, reason: string): void => {
    damaged = true
    const moved = moveAside(o.dir, name, o.now())
    o.logger.error(
      { event: 'journal.corrupt', file: name, moved_to: moved, reason },
      `journal file ${name} is unreadable (${reason}); moved aside, starting with what was readable before it`,
    )
  }

  // 1. The latest snapshot, if it is whole.
  let from = listing.segments[0] ?? 1
  let snapshot: number | undefined
  const snapNumber = listing.snapshots.at(-1)
  let stop = false
  if (snapNumber !== undefined) {
    const name = snapshotName(snapNumber)
    const read = readFile(o, name, 'snapshot')
    bytes += read.bytes
    const end = read.records.at(-1)
    const whole = read.ok && end?.t === 'snapshot_end'
    for (const r of read.records) applyRecord(o.store, r)
    records += read.records.length
    if (whole) {
      snapshot = snapNumber
      from = end.segment
    } else {
      aside(name, read.ok ? 'snapshot has no end record' : read.reason)
      stop = true
    }
  }

  // 2. The segments after it: read them all first, since a later one may void the tail of an earlier one.
  const segments = listing.segments.filter((n) => n >= from)
  const reads: { n: number; records: JournalRecord[] }[] = []
  const caps = new Map<number, number>()
  for (const n of segments) {
    const name = segmentName(n)
    if (stop) {
      aside(name, 'it follows a damaged journal file')
      continue
    }
    const read = readFile(o, name, 'journal')
    bytes += read.bytes
    journalBytes += Math.max(0, read.bytes - HEADER_BYTES)
    reads.push({ n, records: read.records })
    for (const r of read.records) if (r.t === 'void') caps.set(r.segment, Math.min(caps.get(r.segment) ?? Infinity, r.records))
    if (!read.ok) {
      aside(name, read.reason)
      stop = true
    }
  }
  for (const { n, records: list } of reads) {
    const cap = caps.get(n) ?? Infinity
    for (let i = 0; i < list.length && i < cap; i++) applyRecord(o.store, list[i]!)
    records += Math.min(cap, list.length)
  }

  o.store.settleRecovered()
  let messages = 0
  let vectors = 0
  for (const s of o.store.values()) {
    messages += s.history.total
    vectors += s.vectors.count
  }
  const report: RecoveryReport = {
    sessions: o.store.size,
    messages,
    vectors,
    bytes,
    journalBytes,
    records,
    ms: Math.round(performance.now() - t0),
    nextSegment: highest + 1,
    damaged,
    snapshot,
  }
  o.logger.info(
    { event: 'journal.recovered', sessions: report.sessions, messages, vectors, bytes, records, ms: report.ms, snapshot: snapshot ?? null, segments: reads.length, damaged },
    `recovered ${report.sessions} sessions from the journal`,
  )
  return report
}

/** One file's records up to the first that does not read; a torn tail is cut off the file here. */
function readFile(o: Options, name: string, kind: 'journal' | 'snapshot'): Read {
  const path = join(o.dir, name)
  const buf = readRegular(path)
  if (buf === undefined) return { ok: true, records: [], bytes: 0 } // not a regular file: nothing was ever written to it
  if (buf.length < HEADER_BYTES) {
    // A segment whose header never got written in full (a crash or a full disk as it was created).
    if (buf.length > 0) o.logger.warn({ event: 'journal.truncated', file: name, bytes: buf.length }, 'journal file with an incomplete header ignored')
    return { ok: true, records: [], bytes: buf.length }
  }
  let scan
  try {
    scan = scanFile(buf, o.hostSecret)
  } catch (err) {
    if (err instanceof UnreadableFile) return { ok: false, records: [], bytes: buf.length, reason: err.message }
    throw err
  }
  if (scan.header.kind !== kind) return { ok: false, records: [], bytes: buf.length, reason: `a ${scan.header.kind} file where a ${kind} was expected` }
  const records: JournalRecord[] = []
  for (const plain of scan.records) {
    try {
      records.push(decodeRecord(plain))
    } catch (err) {
      return { ok: false, records, bytes: buf.length, reason: `undecodable record (${err instanceof Error ? err.message : 'unknown'})` }
    }
  }
  const end = scan.end
  if (end.kind === 'corrupt') return { ok: false, records, bytes: buf.length, reason: `${end.reason} at byte ${end.at}` }
  if (end.kind === 'torn' && kind === 'snapshot') return { ok: false, records, bytes: buf.length, reason: `snapshot cut short at byte ${end.at}` }
  if (end.kind === 'torn') {
    truncateSync(path, end.at)
    o.logger.warn({ event: 'journal.truncated', file: name, at: end.at, bytes: end.bytes }, 'torn last record dropped')
  }
  return { ok: true, records, bytes: buf.length }
}

/** The bytes of a regular file (by its size: never read a device such as /dev/full to its end), or undefined. */
function readRegular(path: string): Buffer | undefined {
  const fd = openSync(path, 'r')
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return undefined
    const buf = Buffer.allocUnsafe(st.size)
    let done = 0
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done)
      if (n === 0) break
      done += n
    }
    return buf.subarray(0, done)
  } finally {
    closeSync(fd)
  }
}
