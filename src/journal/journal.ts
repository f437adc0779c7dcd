// The host's durability, as dispatch and server see it: commit records before
// a change is applied, note host decisions, snapshot now and then, recover at
// start, flush at shutdown. PERSIST=off gives a journal that keeps nothing.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { HostStore } from './apply.js'
import { JournalWriter, errText, type FsyncMode } from './journal-writer.js'
import { journalDir, listDir, segmentName } from './layout.js'
import type { JournalRecord } from './records.js'
import { recover, type RecoveryReport } from './recovery.js'
import { capture, writeSnapshot, type SnapshotResult } from './snapshot-writer.js'
import { RowsUnavailable } from '../vectors/index.js'

export { JournalUnavailable } from './journal-writer.js'
export type { JournalRecord } from './records.js'

export interface JournalStats {
  /** Bytes and files of the journal segments on disk. */
  bytes: number
  segments: number
}

export interface Journal {
  readonly enabled: boolean
  /** False while writes fail (readiness reports it). */
  readonly healthy: boolean
  /**
   * Makes the records durable (as JOURNAL_FSYNC promises) before the change is
   * applied: undefined when there is nothing to wait for (PERSIST=off), else a
   * promise that rejects with JournalUnavailable, and then nothing is applied.
   */
  commit(records: readonly JournalRecord[]): Promise<void> | undefined
  stats(): JournalStats
  /** Writes what is pending (and a snapshot when it is cheap), then closes. */
  close(): Promise<void>
}

export interface JournalOptions {
  dataDir: string
  hostSecret: Uint8Array
  fsync: FsyncMode
  fsyncIntervalMs: number
  retryMs: number
  snapshotBytes: number
  snapshotIntervalMs: number
  store: HostStore
  logger: Logger
  now: () => number
  onHealth(healthy: boolean): void
  observe: {
    fsync(seconds: number): void
    snapshot(result: SnapshotResult): void
  }
}

export class NoJournal implements Journal {
  readonly enabled = false
  readonly healthy = true
  commit(): undefined {
    return undefined
  }
  stats(): JournalStats {
    return { bytes: 0, segments: 0 }
  }
  async close(): Promise<void> {}
}

/** State this small is snapshotted at shutdown, so the next start reads one file. */
const CHEAP_SNAPSHOT_BYTES = 64 * 1024 * 1024
const SNAPSHOT_CHECK_MS = 1000

export class FileJournal implements Journal {
  readonly enabled = true
  readonly report: RecoveryReport
  readonly #o: JournalOptions
  readonly #dir: string
  readonly #writer: JournalWriter
  readonly #timer: NodeJS.Timeout
  #snapshotting: Promise<void> | undefined
  #lastSnapshotAt: number
  #closing = false

  /** Recovers the state into `o.store` (synchronously: before the host takes connections), then journals its changes. */
  constructor(o: JournalOptions) {
    this.#o = o
    this.#dir = journalDir(o.dataDir)
    this.report = recover({ dir: this.#dir, hostSecret: o.hostSecret, store: o.store, logger: o.logger, now: o.now })
    this.#writer = new JournalWriter({
      dir: this.#dir,
      hostSecret: o.hostSecret,
      firstSegment: this.report.nextSegment,
      fsync: o.fsync,
      fsyncIntervalMs: o.fsyncIntervalMs,
      retryMs: o.retryMs,
      logger: o.logger,
      onHealth: (healthy) => o.onHealth(healthy),
      observeFsync: (seconds) => o.observe.fsync(seconds),
    })
    // What recovery replayed counts toward the next snapshot; after damage, snapshot at once.
    this.#writer.bytesSinceSnapshot = this.report.damaged ? Math.max(1, o.snapshotBytes) : this.report.journalBytes
    this.#lastSnapshotAt = o.now()
    this.#listen(o.store)
    this.#timer = setInterval(() => this.#maybeSnapshot(), Math.min(SNAPSHOT_CHECK_MS, o.snapshotIntervalMs))
    this.#timer.unref()
    if (this.report.damaged) this.#maybeSnapshot()
  }

  get healthy(): boolean {
    return this.#writer.healthy
  }

  commit(records: readonly JournalRecord[]): Promise<void> {
    return this.#writer.append(records)
  }

  stats(): JournalStats {
    let bytes = 0
    let segments = 0
    try {
      for (const n of listDir(this.#dir).segments) {
        segments++
        bytes += statSync(join(this.#dir, segmentName(n))).size
      }
    } catch {
      // A directory that cannot be listed shows as empty; journal.failed says why.
    }
    return { bytes, segments }
  }

  /** Snapshots now (the trigger's work, also for tests and benchmarks); resolves when it is durable. */
  snapshot(): Promise<void> {
    this.#snapshotting ??= this.#snapshot().finally(() => {
      this.#snapshotting = undefined
    })
    return this.#snapshotting
  }

  async close(): Promise<void> {
    this.#closing = true
    clearInterval(this.#timer)
    await this.#snapshotting
    let vectorBytes = 0
    for (const s of this.#o.store.values()) vectorBytes += s.vectors.bytes
    if (this.#writer.bytesSinceSnapshot > 0 && vectorBytes < CHEAP_SNAPSHOT_BYTES && this.#writer.healthy) await this.#snapshot()
    await this.#writer.close()
  }

  #listen(store: HostStore): void {
    // Host decisions, applied already: journaled with the next batch, never waited for.
    const ts = this.#o.now
    store.on('abandoned', (s) => this.#writer.note({ t: 'status', s: s.id, status: 'abandoned', ts: ts() }))
    store.on('resumed', (s) => this.#writer.note({ t: 'status', s: s.id, status: 'resumed', ts: ts() }))
    store.on('dropped', (s, reason) => {
      // A shutdown empties memory, not the journal; an operator's drop was committed before it was made.
      if (reason === 'retention' || reason === 'reclaimed') this.#writer.note({ t: 'dropped', s: s.id, reason, ts: ts() })
    })
  }

  #maybeSnapshot(): void {
    if (this.#snapshotting || this.#closing || !this.#writer.healthy) return
    const bytes = this.#writer.bytesSinceSnapshot
    const due = bytes >= this.#o.snapshotBytes || (bytes > 0 && this.#o.now() - this.#lastSnapshotAt >= this.#o.snapshotIntervalMs)
    if (due) void this.snapshot()
  }

  async #snapshot(): Promise<void> {
    const carried = this.#writer.bytesSinceSnapshot
    this.#writer.bytesSinceSnapshot = 0
    try {
      const number = await this.#writer.rotate()
      // Now, before anything of segment `number` is applied: the state is exactly that of the segments before it.
      const captured = capture(this.#o.store)
      const result = await writeSnapshot(this.#dir, number, this.#o.hostSecret, captured)
      this.#lastSnapshotAt = this.#o.now()
      this.#o.observe.snapshot(result)
      this.#o.logger.info({ event: 'journal.snapshot', snapshot: number, sessions: result.sessions, bytes: result.bytes, ms: result.ms }, 'snapshot written')
    } catch (err) {
      this.#writer.bytesSinceSnapshot += carried
      // A graph let go while its rows were read (the session was emptied meanwhile) is a race, not a fault; the next snapshot retries.
      const level = err instanceof RowsUnavailable ? 'warn' : 'error'
      this.#o.logger[level]({ event: 'journal.snapshot_failed', err: errText(err) }, 'snapshot failed; the journal keeps everything meanwhile')
    }
  }
}
