// The journal of cluster mode: the same records as on disk (journal/records.ts),
// sealed the same way (entry-seal.ts), in one Redis stream per session plus
// the session's latest snapshot; any host can load any session from them.
//
// Group commit, as on disk: records committed during one turn of the event
// loop go out together, one fenced APPEND per session, all pipelined in one
// round trip, and a change is applied (and answered) only when Redis has
// acknowledged its entries. Redis is expected to run with appendfsync always
// (docs/SCALING.md): an acknowledged entry survives a Redis restart.
//
// A write that fails is answered `unavailable` (nothing applied). When its
// outcome is unknown (the connection dropped with it in flight), the session
// is marked dirty and its entries after the last acknowledged one are voided
// before anything else is appended, so what was answered "not applied" is
// never replayed. A write refused by the fence means another host owns the
// session now: the session is lost here.
import type { Logger } from 'pino'
import type { HostStore } from '../journal/apply.js'
import { applyRecord } from '../journal/apply.js'
import type { Journal, JournalStats } from '../journal/journal.js'
import { decodeRecord, encodeRecord, type JournalRecord } from '../journal/records.js'
import { captureSession, sessionRecords, type CapturedSession } from '../journal/snapshot-writer.js'
import { ProtocolError } from '../protocol/errors.js'
import { EntryOpener, EntrySealer } from './entry-seal.js'
import type { Lease, Leases } from './leases.js'
import type { RedisLink } from './redis-link.js'
import { GroupCommit } from '../util/group-commit.js'
import { APPEND, COMMIT_SNAPSHOT, DELETE_SESSION, FENCED, sessionKeys, VOID } from './scripts.js'

/** Entries read per XRANGE while loading, and snapshot chunks per HMGET. */
const LOAD_PAGE = 256
const CHUNK_BYTES = 4 * 1024 * 1024
/** Work done between two yields to the event loop while loading or snapshotting. */
const SLICE_MS = 4

export interface RedisJournalOptions {
  link: RedisLink
  leases: Leases
  hostSecret: Uint8Array
  store: HostStore
  logger: Logger
  now: () => number
  retryMs: number
  /** TTL the session's keys get with every write (reconnect grace + retention): see scripts.ts. */
  idleMs: number
  snapshotBytes: number
  /** A write was fenced: another host owns the session now. */
  onFenced(sessionId: string): void
  /** Runs `fn` in the session's turn (dispatch's change queue): the snapshot's point of consistency. */
  exclusive: <T>(sessionId: string, fn: () => T | Promise<T>) => Promise<T>
  observeSnapshot: (result: { bytes: number; ms: number }) => void
}

export interface LoadReport {
  records: number
  bytes: number
  ms: number
  found: boolean
}

interface Waiter {
  resolve(): void
  reject(err: unknown): void
}

interface Pending {
  entries: Buffer[]
  bytes: number
  waiters: Waiter[]
  /** A record came while this host held no lease on the session: the batch will be refused. */
  unowned: boolean
  /** The identity of a session this batch creates (recorded beside the fence). */
  client: string
}

export const unavailable = (message: string, retryMs: number): ProtocolError => new ProtocolError('unavailable', message, retryMs)

export class RedisJournal implements Journal {
  readonly enabled = true
  readonly #o: RedisJournalOptions
  readonly #opener: EntryOpener
  #pending = new Map<string, Pending>()
  readonly #batches = new GroupCommit(
    () => this.#run(),
    () => this.#pending.size > 0,
  )
  #closed = false
  #appendedBytes = 0
  readonly #snapshotting = new Set<string>()

  constructor(o: RedisJournalOptions) {
    this.#o = o
    this.#opener = new EntryOpener(o.hostSecret)
    this.#listen(o.store)
  }

  get healthy(): boolean {
    return this.#o.link.healthy
  }

  commit(records: readonly JournalRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(unavailable('the host is shutting down', this.#o.retryMs))
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject }
      const sessions = new Set<string>()
      for (const r of records) {
        if (!('s' in r)) continue
        this.#add(r.s, r)
        sessions.add(r.s)
      }
      // A commit names one session in practice; with several, it resolves when all are stored.
      let left = sessions.size
      if (left === 0) return resolve()
      const one: Waiter = { resolve: () => --left === 0 && waiter.resolve(), reject: (err) => waiter.reject(err) }
      for (const s of sessions) this.#pending.get(s)!.waiters.push(one)
      this.#schedule()
    })
  }

  stats(): JournalStats {
    return { bytes: this.#appendedBytes, segments: 0 }
  }

  /** Waits until everything committed or noted so far has been written (or refused). */
  async flush(): Promise<void> {
    while (this.#batches.busy || this.#pending.size > 0) await (this.#batches.running ?? this.#batches.start())
  }

  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  /**
   * Reads a session (its snapshot, then the entries after it) into the store,
   * a few milliseconds at a time. The caller holds the lease and runs in the
   * session's turn. Records of another session (a foreign entry) are refused.
   */
  async load(sessionId: string): Promise<LoadReport> {
    const t0 = performance.now()
    const k = sessionKeys(sessionId)
    const { link, store } = this.#o
    let records = 0
    let bytes = 0
    let streamBytes = 0
    let slice = performance.now()
    const apply = async (buf: Buffer): Promise<void> => {
      bytes += buf.length
      for (const plain of this.#opener.openAll(buf)) {
        const r = decodeRecord(plain)
        if (!('s' in r) || r.s !== sessionId) throw new Error("a record of another session in this session's keys")
        applyRecord(store, r)
        records++
      }
      if (performance.now() - slice >= SLICE_MS) {
        await new Promise<void>((r) => setImmediate(r))
        slice = performance.now()
      }
    }
    const metaRaw = (await link.command(['HGET', k.snap, 'meta'])) as string | null
    let after = '0-0'
    if (metaRaw) {
      const meta = JSON.parse(metaRaw) as SnapshotMeta
      for (let i = 0; i < meta.chunks; i += 4) {
        const fields = []
        for (let j = i; j < Math.min(meta.chunks, i + 4); j++) fields.push(`c:${meta.gen}:${j}`)
        const chunks = (await link.bytes(['HMGET', k.snap, ...fields])) as (Buffer | null)[]
        for (const c of chunks) {
          if (!c) throw new Error('a snapshot chunk is missing')
          await apply(c)
        }
      }
      after = meta.covers
    }
    for (;;) {
      const page = (await link.bytes(['XRANGE', k.log, `(${after}`, '+', 'COUNT', String(LOAD_PAGE)])) as [Buffer, Buffer[]][]
      for (const [id, fields] of page) {
        after = id.toString()
        const value = fields[1]
        if (!value) continue
        streamBytes += value.length
        await apply(value)
      }
      if (page.length < LOAD_PAGE) break
    }
    const lease = this.#o.leases.get(sessionId)
    if (lease) {
      lease.lastId = after
      lease.journalBytes = streamBytes
    }
    return { records, bytes, ms: Math.round(performance.now() - t0), found: records > 0 }
  }

  /** The session is gone for good (retention, reclaim, an operator): its data goes from Redis, fenced. */
  async deleteSession(lease: Lease): Promise<void> {
    const k = sessionKeys(lease.sessionId)
    await this.flush()
    await this.#o.link.eval(DELETE_SESSION, [k.lease, k.owner, k.log, k.snap], [String(lease.epoch)])
  }

  /** Snapshots one session now, in its turn; resolves when Redis holds it (and has trimmed the stream). */
  async snapshot(sessionId: string): Promise<void> {
    if (this.#snapshotting.has(sessionId)) return
    this.#snapshotting.add(sessionId)
    try {
      const taken = await this.#o.exclusive(sessionId, async () => {
        // Written or refused, every record of the session's changes so far: lastId is the state's.
        await this.flush()
        const lease = this.#o.leases.get(sessionId)
        const session = this.#o.store.get(sessionId)
        if (!lease || !session || lease.dirty) return undefined
        const carried = lease.journalBytes
        lease.journalBytes = 0
        return { lease, captured: captureSession(session), covers: lease.lastId, carried }
      })
      if (!taken) return
      try {
        const result = await this.#writeSnapshot(taken.lease, taken.captured, taken.covers)
        this.#o.observeSnapshot(result)
        this.#o.logger.info({ event: 'journal.snapshot', session_id: sessionId, bytes: result.bytes, ms: result.ms }, 'session snapshot written')
      } catch (err) {
        taken.lease.journalBytes += taken.carried
        if (!isFenced(err))
          this.#o.logger.warn(
            { event: 'cluster.snapshot_failed', session_id: sessionId, err: (err as Error).message },
            'session snapshot failed; its journal keeps everything meanwhile',
          )
      }
    } finally {
      this.#snapshotting.delete(sessionId)
    }
  }

  async #writeSnapshot(lease: Lease, captured: CapturedSession, covers: string): Promise<{ bytes: number; ms: number }> {
    const t0 = performance.now()
    const k = sessionKeys(lease.sessionId)
    const sealer = new EntrySealer(this.#o.hostSecret)
    const gen = `${lease.epoch}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`
    let parts: Buffer[] = []
    let partBytes = 0
    let chunks = 0
    let bytes = 0
    let slice = performance.now()
    const put = async (): Promise<void> => {
      const buf = Buffer.concat(parts, partBytes)
      parts = []
      partBytes = 0
      // Not fenced: nothing reads chunks of a generation until the commit below names it.
      await this.#o.link.command(['HSET', k.snap, `c:${gen}:${chunks++}`, buf])
      bytes += buf.length
      slice = performance.now()
    }
    for await (const r of sessionRecords(captured)) {
      const entry = sealer.seal(encodeRecord(r))
      parts.push(entry)
      partBytes += entry.length
      if (partBytes >= CHUNK_BYTES) await put()
      else if (performance.now() - slice >= SLICE_MS) {
        await new Promise<void>((r) => setImmediate(r))
        slice = performance.now()
      }
    }
    if (partBytes > 0) await put()
    const meta: SnapshotMeta = { gen, chunks, covers, bytes, at: this.#o.now() }
    await this.#o.link.eval(COMMIT_SNAPSHOT, [k.owner, k.log, k.snap], [String(lease.epoch), gen, covers, JSON.stringify(meta)])
    return { bytes, ms: Math.round(performance.now() - t0) }
  }

  #add(sessionId: string, r: JournalRecord): void {
    let p = this.#pending.get(sessionId)
    if (!p) {
      p = { entries: [], bytes: 0, waiters: [], unowned: false, client: '' }
      this.#pending.set(sessionId, p)
    }
    const lease = this.#o.leases.get(sessionId)
    if (!lease) {
      p.unowned = true
      return
    }
    if (r.t === 'created') p.client = r.owner
    // Sealed now, in commit order, under this ownership's salt.
    const entry = lease.sealer.seal(encodeRecord(r))
    p.entries.push(entry)
    p.bytes += entry.length
  }

  /** Host decisions already applied (abandoned, resumed): written with the next batch, never waited for. */
  #note(r: JournalRecord): void {
    if (this.#closed || !('s' in r) || !this.#o.leases.get(r.s)) return
    this.#add(r.s, r)
    this.#schedule()
  }

  #listen(store: HostStore): void {
    const ts = this.#o.now
    store.on('abandoned', (s) => this.#note({ t: 'status', s: s.id, status: 'abandoned', ts: ts() }))
    store.on('resumed', (s) => this.#note({ t: 'status', s: s.id, status: 'resumed', ts: ts() }))
  }

  #schedule(): void {
    this.#batches.schedule()
  }

  async #run(): Promise<void> {
    while (this.#pending.size > 0) {
      const batch = this.#pending
      this.#pending = new Map()
      await Promise.all([...batch].map(([sessionId, p]) => this.#append(sessionId, p)))
    }
  }

  async #append(sessionId: string, p: Pending): Promise<void> {
    const lease = this.#o.leases.get(sessionId)
    const fail = (err: unknown): void => {
      for (const w of p.waiters) w.reject(err)
    }
    if (!lease || p.unowned) return fail(unavailable('this host does not hold the session (any more): reconnect and retry', this.#o.retryMs))
    if (!this.#o.link.healthy) return fail(unavailable('the session store (Redis) is unreachable; the change was not applied', this.#o.retryMs))
    const k = sessionKeys(sessionId)
    let sent = false
    try {
      if (lease.dirty) {
        await this.#o.link.eval(VOID, [k.owner, k.log], [String(lease.epoch), lease.lastId])
        lease.dirty = false
      }
      sent = true
      const ids = (await this.#o.link.eval(APPEND, [k.owner, k.log], [String(lease.epoch), String(this.#o.idleMs), p.client, ...p.entries])) as string[]
      lease.lastId = ids.at(-1) ?? lease.lastId
      lease.journalBytes += p.bytes
      this.#appendedBytes += p.bytes
      for (const w of p.waiters) w.resolve()
      if (lease.journalBytes >= this.#o.snapshotBytes) void this.snapshot(sessionId)
    } catch (err) {
      if (isFenced(err)) {
        fail(unavailable('the session moved to another host: reconnect and retry', this.#o.retryMs))
        this.#o.onFenced(sessionId)
        return
      }
      // Sent and not acknowledged: it may have landed. Void it before the next write.
      if (sent) lease.dirty = true
      fail(unavailable('the session store (Redis) did not take the change; it was not applied', this.#o.retryMs))
    }
  }
}

interface SnapshotMeta {
  gen: string
  chunks: number
  /** Stream id of the last entry the snapshot holds ('0-0': none). */
  covers: string
  bytes: number
  at: number
}

export function isFenced(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith(FENCED)
}
