// The write-ahead journal's writer: group commit onto the current segment.
//
// Records appended during one turn of the event loop go out together: one
// write, then (JOURNAL_FSYNC=always) one fdatasync, and only then are their
// promises resolved, so every reply waits for the fsync that covers it. While
// a batch is on its way, the next one gathers. In every mode the bytes are
// written to the file before the promise resolves.
//
// A batch that fails is failed as a whole (none of its changes will be
// applied), the segment is given up and the next batch opens a new one, first
// recording how many of the old segment's records count: so a write that half
// landed can never be replayed.
import { lstat, open, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { frameRecord, writeHeader } from './file-format.js'
import { fsyncDir, segmentName } from './layout.js'
import { encodeRecord, type JournalRecord } from './records.js'
import type { FileKey } from './sealing.js'
import { GroupCommit } from '../util/group-commit.js'

export type FsyncMode = 'always' | 'interval' | 'off'

export interface JournalWriterOptions {
  dir: string
  hostSecret: Uint8Array
  /** The number of the first segment to write (one past every segment on disk). */
  firstSegment: number
  fsync: FsyncMode
  fsyncIntervalMs: number
  /** While writes fail: how often to try again unprompted (a drained host gets no writes to try with). */
  retryMs: number
  logger: Logger
  /** Told when the journal stops or starts taking writes (readiness). */
  onHealth(healthy: boolean): void
  observeFsync(seconds: number): void
}

/** A change that could not be made durable: answered as a retryable `internal`, and not applied. */
export class JournalUnavailable extends Error {
  constructor(cause: unknown) {
    super('the journal could not be written', { cause })
    this.name = 'JournalUnavailable'
  }
}

interface Waiter {
  resolve(): void
  reject(err: unknown): void
}

interface Open {
  number: number
  fh: FileHandle
  key: FileKey
  /** Records in the file, and its size: what counts if the next write fails. */
  records: number
  bytes: number
}

export class JournalWriter {
  readonly #o: JournalWriterOptions
  #pending: Buffer[] = []
  #waiters: Waiter[] = []
  readonly #batches = new GroupCommit(
    () => this.#run(),
    () => !this.#closed && (this.#pending.length > 0 || this.#rotateTo.length > 0),
  )
  #seg: Open | undefined
  #nextNumber: number
  /** Given-up segments and how many of their records count, to be recorded in the next one. */
  #voids: { segment: number; records: number }[] = []
  #healthy = true
  #dirty = false
  #rotateTo: ((n: number) => void)[] = []
  #closed = false
  readonly #fsyncTimer: NodeJS.Timeout | undefined
  #retryTimer: NodeJS.Timeout | undefined
  /** Bytes written to segments not yet covered by a snapshot (the snapshot trigger reads it). */
  bytesSinceSnapshot = 0
  segmentsWritten = 0

  constructor(o: JournalWriterOptions) {
    this.#o = o
    this.#nextNumber = o.firstSegment
    if (o.fsync === 'interval') {
      this.#fsyncTimer = setInterval(() => void this.#intervalSync(), o.fsyncIntervalMs)
      this.#fsyncTimer.unref()
    }
  }

  get healthy(): boolean {
    return this.#healthy
  }

  get segment(): number | undefined {
    return this.#seg?.number
  }

  /** Resolves once the records are written (and fsynced, in mode always); rejects with JournalUnavailable. */
  append(records: readonly JournalRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(new JournalUnavailable(new Error('journal closed')))
    return new Promise<void>((resolve, reject) => {
      for (const r of records) this.#pending.push(encodeRecord(r))
      this.#waiters.push({ resolve, reject })
      this.#schedule()
    })
  }

  /** A change already made (a host decision): written with the next batch; a failure is logged by the batch. */
  note(record: JournalRecord): void {
    if (this.#closed) return
    this.#pending.push(encodeRecord(record))
    this.#schedule()
  }

  /**
   * Ends the current segment after the batch in progress and starts the next:
   * resolves with the new segment's number at a moment when every record of
   * the earlier segments has been written and its waiters released, and none
   * of the new one's (the snapshot's point of consistency).
   */
  rotate(): Promise<number> {
    return new Promise((resolve) => {
      this.#rotateTo.push(resolve)
      this.#schedule()
    })
  }

  /** Writes what is pending, fsyncs and closes. Later appends are refused. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#fsyncTimer) clearInterval(this.#fsyncTimer)
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    await this.#batches.start()
    const seg = this.#seg
    this.#seg = undefined
    if (!seg) return
    try {
      await seg.fh.datasync()
    } finally {
      await seg.fh.close()
    }
  }

  #schedule(): void {
    this.#batches.schedule()
  }

  async #run(): Promise<void> {
    while (this.#pending.length > 0 || this.#rotateTo.length > 0) {
      // A rotation goes between two batches: what is pending then belongs to the new segment.
      if (this.#rotateTo.length > 0) await this.#rotate()
      if (this.#pending.length > 0) await this.#flushBatch()
    }
  }

  async #flushBatch(): Promise<void> {
    const plaintexts = this.#pending
    const waiters = this.#waiters
    this.#pending = []
    this.#waiters = []
    let written = false
    try {
      const seg = await this.#current()
      const frames = plaintexts.map((p, i) => frameRecord(seg.key, seg.records + i, p))
      const buf = frames.length === 1 ? frames[0]! : Buffer.concat(frames)
      written = true
      await writeAll(seg.fh, buf, seg.bytes)
      if (this.#o.fsync === 'always') await this.#sync(seg)
      else this.#dirty = true
      seg.records += frames.length
      seg.bytes += buf.length
      this.bytesSinceSnapshot += buf.length
      this.#setHealthy(true)
      for (const w of waiters) w.resolve()
    } catch (err) {
      await this.#giveUp(err, written)
      const failure = new JournalUnavailable(err)
      for (const w of waiters) w.reject(failure)
    }
  }

  async #rotate(): Promise<void> {
    const waiting = this.#rotateTo
    this.#rotateTo = []
    const old = this.#seg
    this.#seg = undefined
    if (old) {
      try {
        await this.#sync(old)
        await old.fh.close()
      } catch (err) {
        // Its records are written; whether they reached the disk is now
        // unknown, and the snapshot that follows will hold them anyway.
        this.#o.logger.warn({ event: 'journal.close_failed', segment: old.number, err: errText(err) }, 'closing a journal segment failed')
      }
    }
    let number = this.#nextNumber
    try {
      number = (await this.#current()).number
    } catch (err) {
      await this.#giveUp(err, false)
    }
    // Let the waiters of the last batch run (apply their changes) before the snapshot looks.
    await new Promise<void>((r) => setImmediate(r))
    for (const resolve of waiting) resolve(number)
  }

  async #current(): Promise<Open> {
    if (this.#seg) return this.#seg
    const number = this.#nextNumber++
    const { bytes, key } = writeHeader('journal', number, this.#o.hostSecret)
    const path = join(this.#o.dir, segmentName(number))
    const fh = await open(path, 'w', 0o600)
    try {
      await writeAll(fh, bytes, 0)
      const seg: Open = { number, fh, key, records: 0, bytes: bytes.length }
      const voids = this.#voids
      if (voids.length > 0) {
        const frames = voids.map((v, i) => frameRecord(key, i, encodeRecord({ t: 'void', segment: v.segment, records: v.records })))
        const buf = Buffer.concat(frames)
        await writeAll(fh, buf, seg.bytes)
        seg.records += frames.length
        seg.bytes += buf.length
      }
      await fh.datasync()
      fsyncDir(this.#o.dir)
      this.#voids = []
      this.#seg = seg
      this.segmentsWritten++
      return seg
    } catch (err) {
      await fh.close().catch(() => undefined)
      // Nothing in it counts (the voids are still pending): an outage must not leave a file per retry.
      await removeIfFile(path)
      throw err
    }
  }

  async #sync(seg: Open): Promise<void> {
    if (this.#o.fsync === 'off') return
    const t0 = process.hrtime.bigint()
    await seg.fh.datasync()
    this.#o.observeFsync(Number(process.hrtime.bigint() - t0) / 1e9)
  }

  async #intervalSync(): Promise<void> {
    if (!this.#dirty) return
    // Behind a batch in progress, never skipped for it: under steady load one always is.
    await this.#batches.running
    const seg = this.#seg
    if (!this.#dirty || !seg) return
    this.#dirty = false
    try {
      await this.#sync(seg)
    } catch (err) {
      // What the interval promised may be lost: say so, and write on in a fresh segment.
      if (this.#seg === seg) await this.#giveUp(err, true)
    }
  }

  /** After a failed write: the segment is not written to again; the next batch starts a new one. */
  async #giveUp(err: unknown, touched: boolean): Promise<void> {
    const seg = this.#seg
    this.#seg = undefined
    if (seg) {
      if (touched) this.#voids.push({ segment: seg.number, records: seg.records })
      await seg.fh.truncate(seg.bytes).catch(() => undefined)
      await seg.fh.close().catch(() => undefined)
    }
    if (this.#healthy) {
      this.#o.logger.error({ event: 'journal.failed', segment: seg?.number, err: errText(err) }, 'journal write failed: changes are refused until it writes again')
    }
    this.#setHealthy(false)
    this.#armRetry()
  }

  #armRetry(): void {
    if (this.#retryTimer || this.#closed) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (!this.#healthy) this.note({ t: 'probe', ts: Date.now() })
    }, this.#o.retryMs)
    this.#retryTimer.unref()
  }

  #setHealthy(healthy: boolean): void {
    if (healthy === this.#healthy) return
    this.#healthy = healthy
    if (healthy) this.#o.logger.info({ event: 'journal.writable', segment: this.#seg?.number }, 'journal writes again')
    this.#o.onHealth(healthy)
  }
}

/** Unlinks `path` when it is a plain file we made, never what a symlink there points at. */
async function removeIfFile(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isFile()) await unlink(path)
  } catch {
    // Already gone, or the directory cannot be changed either: recovery reads such a file as empty.
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done)
    done += bytesWritten
  }
}

/** An error's code and message only: never anything it may carry. */
export function errText(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown }
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: typeof e?.message === 'string' ? e.message : String(err) }
}
