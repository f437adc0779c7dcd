// A snapshot: the whole state as records (apply.ts reads them like the
// journal's), written so it never holds the event loop: the state is captured
// in one cheap step (session fields, history arrays copied by reference,
// vector store views that later changes leave alone), then encoded, sealed and
// written a few milliseconds at a time. Durable before it counts: a .tmp file,
// fsync, rename, fsync of the directory. Then the segments it covers go.
import { open, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { HistoryMessage } from '@rag-session-host/client/shared'
import { CHUNK_MASK, CHUNK_SHIFT, isAlive, releasedRows, type Metadata, type StoreView } from '../vectors/index.js'
import type { HostStore } from './apply.js'
import type { Session } from '../sessions/session.js'
import type { SessionVectors } from '../vectors/index.js'
import { frameRecord, writeHeader } from './file-format.js'
import { fsyncDir, listDir, segmentName, snapshotName } from './layout.js'
import { encodeRecord, type JournalRecord } from './records.js'

/** The state at one instant, cheap to take. */
export interface Captured {
  nextSeq: number
  sessions: { head: Extract<JournalRecord, { t: 'session' }>; messages: HistoryMessage[]; view: StoreView }[]
}

type HostSession = Session<SessionVectors>

const MESSAGES_PER_RECORD = 512
const VECTORS_PER_RECORD = 1024
/** Work done between two yields to the event loop. */
const SLICE_MS = 4
const WRITE_BYTES = 4 * 1024 * 1024

/** One session at one instant, cheap to take (cluster mode snapshots sessions one by one). */
export type CapturedSession = Captured['sessions'][number]

export function captureSession(s: HostSession): CapturedSession {
  return {
    head: {
      t: 'session',
      s: s.id,
      seq: s.seq,
      owner: s.owner,
      ...(s.address === undefined ? {} : { address: s.address }),
      createdAt: s.createdAt,
      attempt: s.attempt,
      status: s.status,
      autoRecovered: s.autoRecovered,
      statusSince: s.statusSince,
      lastActiveAt: s.lastActiveAt,
    },
    messages: s.history.all(),
    view: s.vectors.view(),
  }
}

export function capture(store: HostStore): Captured {
  return { nextSeq: store.nextSeq, sessions: [...store.values()].map(captureSession) }
}

/**
 * The records that make one session exactly what it was when captured.
 * Asynchronous: rows the vector store released are read back from the graph
 * that holds them (vectors/released-rows.ts); if that graph is gone the
 * snapshot fails (RowsUnavailable) and the journal it would replace stays.
 */
export async function* sessionRecords({ head, messages, view }: CapturedSession): AsyncGenerator<JournalRecord> {
  yield head
  for (let i = 0; i < messages.length; i += MESSAGES_PER_RECORD) yield { t: 'messages', s: head.s, list: messages.slice(i, i + MESSAGES_PER_RECORD) }
  yield* vectorRecords(head.s, view)
}

async function* records(c: Captured, segment: number): AsyncGenerator<JournalRecord> {
  for (const session of c.sessions) yield* sessionRecords(session)
  yield { t: 'snapshot_end', sessions: c.sessions.length, nextSeq: c.nextSeq, segment }
}

async function* vectorRecords(s: string, view: StoreView): AsyncGenerator<JournalRecord> {
  const dims = view.dims
  let ids: string[] = []
  let meta: Metadata[] = []
  let units = new Float32Array(VECTORS_PER_RECORD * dims)
  // `replace` on the first: the session's vectors are exactly what follows.
  let first = true
  const flush = (): JournalRecord => {
    const r: JournalRecord = { t: 'vectors', s, replace: first, dims, ids, meta, units: units.subarray(0, ids.length * dims), ts: 0 }
    first = false
    ids = []
    meta = []
    units = new Float32Array(VECTORS_PER_RECORD * dims)
    return r
  }
  /** Adds the row of `slot` (at `at` in `rows`); true when a record is full. */
  const add = (slot: number, rows: Float32Array, at: number): boolean => {
    units.set(rows.subarray(at, at + dims), ids.length * dims)
    ids.push(view.ids[slot]!)
    meta.push(view.meta[slot]!)
    return ids.length === VECTORS_PER_RECORD
  }
  // A released row the graph no longer has died after the capture: a later journal record says so.
  for await (const read of releasedRows(view)) {
    for (let i = 0; i < read.slots.length; i++) if (read.found[i] === 1 && add(read.slots[i]!, read.rows, i * dims)) yield flush()
  }
  for (let slot = view.released; slot < view.end; slot++) {
    if (isAlive(view, slot) && add(slot, view.chunks[slot >> CHUNK_SHIFT]!, (slot & CHUNK_MASK) * dims)) yield flush()
  }
  if (ids.length > 0) yield flush()
}

export interface SnapshotResult {
  bytes: number
  ms: number
  sessions: number
}

/** Writes snapshot `number` (the state before journal segment `number`) and deletes what it makes redundant. */
export async function writeSnapshot(dir: string, number: number, hostSecret: Uint8Array, c: Captured): Promise<SnapshotResult> {
  const t0 = performance.now()
  const final = join(dir, snapshotName(number))
  const tmp = `${final}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  let bytes = 0
  try {
    const { bytes: header, key } = writeHeader('snapshot', number, hostSecret)
    let parts: Buffer[] = [header]
    let partBytes = header.length
    let index = 0
    let sliceStart = performance.now()
    const put = async (): Promise<void> => {
      const buf = Buffer.concat(parts, partBytes)
      parts = []
      partBytes = 0
      let done = 0
      while (done < buf.length) done += (await fh.write(buf, done, buf.length - done, bytes + done)).bytesWritten
      bytes += buf.length
      sliceStart = performance.now()
    }
    for await (const r of records(c, number)) {
      const frame = frameRecord(key, index++, encodeRecord(r))
      parts.push(frame)
      partBytes += frame.length
      // The write's await is the yield: other requests run while it is on the thread pool.
      if (partBytes >= WRITE_BYTES || performance.now() - sliceStart >= SLICE_MS) await put()
    }
    if (partBytes > 0) await put()
    await fh.datasync()
  } catch (err) {
    await fh.close().catch(() => undefined)
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  await fh.close()
  await rename(tmp, final)
  fsyncDir(dir)
  // Only now is the state it holds durable elsewhere: what came before it can go.
  const listing = listDir(dir)
  for (const n of listing.segments) if (n < number) await unlink(join(dir, segmentName(n))).catch(() => undefined)
  for (const n of listing.snapshots) if (n < number) await unlink(join(dir, snapshotName(n))).catch(() => undefined)
  return { bytes, ms: Math.round(performance.now() - t0), sessions: c.sessions.length }
}
