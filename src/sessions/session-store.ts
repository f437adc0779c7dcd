// The in-memory, capacity-limited store of sessions, and their lifecycle
// (PROTOCOL.md §7): active -> detached -> abandoned -> dropped, and
// ended -> dropped. It never replaces or empties a session that exists.
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { ProtocolError } from '../protocol/errors.js'
import type { SessionStatus } from '@rag-session-host/client/shared'
import { History } from './history.js'
import { Session, type SessionData } from './session.js'

export interface SessionStoreOptions<V extends SessionData> {
  maxSessions: number
  maxHistory: number
  maxMessageChars: number
  reconnectGraceMs: number
  retentionMs: number
  /** Live (active or detached) sessions one client address may have created; 0 for no limit. */
  maxSessionsPerAddress?: number
  createVectors: (sessionId: string) => V
  logger: Logger
  now?: () => number
}

/**
 * Why a session left the store: its lifecycle (retention, reclaimed), an
 * operator (admin, reset), the host stopping, or (cluster mode) another host
 * serving it now, its data kept in Redis (moved).
 */
export type SessionDropReason = 'retention' | 'reclaimed' | 'admin' | 'reset' | 'shutdown' | 'moved'

export interface SessionStoreEvents<V extends SessionData> {
  /** Emitted synchronously as the session leaves the store, so listeners act at that very moment. */
  dropped: [session: Session<V>, reason: SessionDropReason]
  /** The sweep found it past its grace (the journal records it). */
  abandoned: [session: Session<V>]
  /** An init brought an abandoned session back (the journal records it). */
  resumed: [session: Session<V>]
}

/** A session as a snapshot holds it. */
export interface RestoredSession {
  id: string
  seq: number
  owner: string
  createdAt: number
  attempt: number
  status: SessionStatus
  autoRecovered: boolean
  statusSince: number
  lastActiveAt: number
  address?: string | undefined
}

/** Bounds for the retry hint when the store is full of sessions that may not be dropped. */
const MIN_RETRY_MS = 1000
const MAX_RETRY_MS = 60_000

export class SessionStore<V extends SessionData = SessionData> extends EventEmitter<SessionStoreEvents<V>> {
  readonly #sessions = new Map<string, Session<V>>()
  #nextSeq = 1
  /** Creations admitted but not yet made (their record is on its way to the journal). */
  #reserved = 0
  /** Live sessions and admitted creations per creating address (MAX_SESSIONS_PER_IP). */
  readonly #liveByAddress = new Map<string, number>()
  readonly #opts: SessionStoreOptions<V>
  readonly now: () => number

  constructor(opts: SessionStoreOptions<V>) {
    super()
    this.#opts = opts
    this.now = opts.now ?? Date.now
  }

  get size(): number {
    return this.#sessions.size
  }

  get(sessionId: string): Session<V> | undefined {
    return this.#sessions.get(sessionId)
  }

  /**
   * Creates the session when absent and reports whether it did. An existing
   * session is returned as it is: never replaced, never emptied. When the store
   * is full, ended and abandoned sessions are dropped (oldest first) to make
   * room; if none may be dropped, throws a retryable `capacity_exceeded`.
   */
  ensureSessionExists(sessionId: string, owner: string): { session: Session<V>; created: boolean } {
    const existing = this.#sessions.get(sessionId)
    if (existing) return { session: existing, created: false }
    this.reserveNew()
    return { session: this.create(sessionId, this.allocateSeq(), owner, this.now(), true), created: true }
  }

  /**
   * Admits one new session before it is made (its creation is journaled
   * first): reclaims room if the store is full, or throws a retryable
   * `capacity_exceeded`. Each admission ends in create(..., true) or release().
   */
  reserveNew(address?: string): void {
    this.#checkAddress(address)
    const now = this.now()
    if (this.#sessions.size + this.#reserved >= this.#opts.maxSessions && !this.#reclaimOne(now)) {
      throw new ProtocolError('capacity_exceeded', 'the host holds as many sessions as it may', this.#retryHint(now))
    }
    this.#reserved++
    this.#countAddress(address, 1)
  }

  /** Gives back an admission that will not be made (its journal write failed). */
  release(address?: string): void {
    this.#reserved = Math.max(0, this.#reserved - 1)
    this.#countAddress(address, -1)
  }

  /** Live sessions created from `address`, with admissions under way. */
  liveSessionsOf(address: string): number {
    return this.#liveByAddress.get(address) ?? 0
  }

  /** Host-given session numbers: the next one, and (recovery) where to continue. */
  allocateSeq(): number {
    return this.#nextSeq++
  }

  get nextSeq(): number {
    return this.#nextSeq
  }

  continueSeqFrom(next: number): void {
    this.#nextSeq = Math.max(this.#nextSeq, next)
  }

  /** Makes a session that is absent; `reserved` when reserveNew() admitted it. Recovery creates without limits. */
  create(sessionId: string, seq: number, owner: string, createdAt: number, reserved: boolean, address?: string): Session<V> {
    if (this.#sessions.has(sessionId)) throw new Error('create of a session that exists')
    // The admission's count for its address becomes the live session's.
    if (reserved) this.#reserved = Math.max(0, this.#reserved - 1)
    else this.#countAddress(address, 1)
    const history = new History(this.#opts.maxHistory, this.#opts.maxMessageChars)
    const session = new Session<V>(sessionId, seq, owner, createdAt, history, this.#opts.createVectors(sessionId))
    session.address = address
    this.#sessions.set(sessionId, session)
    this.continueSeqFrom(seq + 1)
    return session
  }

  /** A session from a snapshot, with its lifecycle fields as they were. */
  restore(r: RestoredSession): Session<V> {
    const session = this.create(r.id, r.seq, r.owner, r.createdAt, false, r.address)
    session.attempt = r.attempt
    this.#changeStatus(session, r.status)
    session.autoRecovered = r.autoRecovered
    session.statusSince = r.statusSince
    session.lastActiveAt = r.lastActiveAt
    return session
  }

  /** Replays a journaled lifecycle change, quietly. */
  replayStatus(session: Session<V>, status: 'ended' | 'abandoned' | 'resumed', ts: number): void {
    this.#changeStatus(session, status === 'resumed' ? 'active' : status)
    if (status === 'abandoned') session.autoRecovered = true
    session.statusSince = ts
    session.lastActiveAt = Math.max(session.lastActiveAt, ts)
  }

  /** Replays a journaled drop, quietly (nothing is connected during recovery). */
  replayDrop(session: Session<V>): void {
    if (this.#sessions.get(session.id) !== session) return
    this.#forget(session)
  }

  /**
   * After recovery: a session that had connections when the host stopped has
   * none now, so it is detached with a fresh grace; ended and abandoned keep
   * their clocks.
   */
  settleRecovered(): void {
    for (const s of this.#sessions.values()) this.settleLoaded(s)
  }

  /** The same for one session loaded from elsewhere (cluster mode: another host served it). */
  settleLoaded(s: Session<V>): void {
    if (s.status !== 'active' && s.status !== 'detached') return
    s.status = 'detached'
    s.statusSince = this.now()
  }

  /** Cluster mode: the session is served by another host now; its data stays in Redis. */
  unload(session: Session<V>): void {
    this.#drop(session, 'moved')
  }

  /**
   * Would a new session fit now (after reclaiming)? Read-only: for the init
   * checks, which must change nothing on failure. Throws `limit_exceeded` when
   * `address` has as many live sessions as it may.
   */
  wouldAcceptNew(address?: string): { ok: true } | { ok: false; retryAfterMs: number } {
    this.#checkAddress(address)
    if (this.#sessions.size + this.#reserved < this.#opts.maxSessions) return { ok: true }
    const now = this.now()
    if (this.#reclaimCandidate(now)) return { ok: true }
    return { ok: false, retryAfterMs: this.#retryHint(now) }
  }

  /** Every session (a snapshot walks them). */
  values(): IterableIterator<Session<V>> {
    return this.#sessions.values()
  }

  bind(session: Session<V>, connectionId: string): void {
    session.connections.add(connectionId)
    session.lastActiveAt = this.now()
    if (session.status === 'detached' || session.status === 'abandoned') {
      const wasAbandoned = session.status === 'abandoned'
      this.#setStatus(session, 'active')
      if (wasAbandoned) this.emit('resumed', session)
    }
  }

  unbind(session: Session<V>, connectionId: string): void {
    if (!session.connections.delete(connectionId)) return
    session.lastActiveAt = this.now()
    if (session.connections.size === 0 && session.status === 'active') this.#setStatus(session, 'detached')
  }

  /** Starts a new attempt (earlier history stays, tagged with its attempt); `attempt` is the journaled number. */
  startAttempt(session: Session<V>, attempt = session.attempt + 1): number {
    session.attempt = attempt
    return session.attempt
  }

  end(session: Session<V>): void {
    if (session.status !== 'ended') this.#setStatus(session, 'ended')
  }

  /**
   * An operator's sweep: a detached session becomes abandoned now (flagged
   * `auto_recovered`), as if its grace had passed. The caller journaled it,
   * so no `abandoned` event.
   */
  abandon(session: Session<V>): void {
    if (session.status !== 'detached') return
    session.autoRecovered = true
    this.#setStatus(session, 'abandoned')
  }

  /** Drops a session for an operator (`admin`, `reset`); the caller journaled it. */
  drop(session: Session<V>, reason: 'admin' | 'reset'): void {
    this.#drop(session, reason)
  }

  touch(session: Session<V>): void {
    session.lastActiveAt = this.now()
  }

  /** Applies lifecycle deadlines: detached past grace -> abandoned; abandoned/ended past retention -> dropped. */
  sweep(): { abandoned: number; dropped: number } {
    const now = this.now()
    let abandoned = 0
    let dropped = 0
    for (const session of this.#sessions.values()) {
      if (this.#advance(session, now)) abandoned++
      if (this.#retentionOver(session, now)) {
        this.#drop(session, 'retention')
        dropped++
      }
    }
    return { abandoned, dropped }
  }

  /** Drops every session (host shutdown), disposing their data. */
  clear(): void {
    for (const session of [...this.#sessions.values()]) this.#drop(session, 'shutdown')
  }

  countByStatus(): Record<SessionStatus, number> {
    const counts: Record<SessionStatus, number> = { active: 0, detached: 0, abandoned: 0, ended: 0 }
    for (const s of this.#sessions.values()) counts[s.status]++
    return counts
  }

  #setStatus(session: Session<V>, status: SessionStatus): void {
    const from = session.status
    this.#changeStatus(session, status)
    session.statusSince = this.now()
    this.#opts.logger.info({ event: `session.${status === 'active' ? 'resumed' : status}`, session_id: session.id, session_seq: session.seq, from }, `session ${status}`)
  }

  /** Detached past its grace becomes abandoned; true when that happened now. */
  #advance(session: Session<V>, now: number): boolean {
    if (session.status !== 'detached' || now - session.statusSince < this.#opts.reconnectGraceMs) return false
    session.autoRecovered = true
    this.#setStatus(session, 'abandoned')
    this.emit('abandoned', session)
    return true
  }

  #retentionOver(session: Session<V>, now: number): boolean {
    if (session.status !== 'abandoned' && session.status !== 'ended') return false
    return now - Math.max(session.statusSince, session.lastActiveAt) >= this.#opts.retentionMs
  }

  #reclaimCandidate(now: number): Session<V> | undefined {
    let oldest: Session<V> | undefined
    for (const s of this.#sessions.values()) {
      const reclaimable = s.status === 'ended' || s.status === 'abandoned' || (s.status === 'detached' && now - s.statusSince >= this.#opts.reconnectGraceMs)
      if (reclaimable && (!oldest || s.lastActiveAt < oldest.lastActiveAt)) oldest = s
    }
    return oldest
  }

  #reclaimOne(now: number): boolean {
    const victim = this.#reclaimCandidate(now)
    if (!victim) return false
    this.#advance(victim, now)
    this.#drop(victim, 'reclaimed')
    return true
  }

  /** When a detached session will become reclaimable: the earliest grace deadline. */
  #retryHint(now: number): number {
    let soonest = Infinity
    for (const s of this.#sessions.values()) {
      if (s.status === 'detached') soonest = Math.min(soonest, s.statusSince + this.#opts.reconnectGraceMs - now)
    }
    const hint = Number.isFinite(soonest) ? soonest : MAX_RETRY_MS
    return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, Math.ceil(hint)))
  }

  #drop(session: Session<V>, reason: SessionDropReason): void {
    if (this.#sessions.get(session.id) !== session) return
    this.#forget(session)
    this.#opts.logger.info({ event: 'session.dropped', session_id: session.id, session_seq: session.seq, reason, status: session.status }, 'session dropped')
    this.emit('dropped', session, reason)
  }

  /** Every status change goes through here, so the per-address counts follow it. */
  #changeStatus(session: Session<V>, status: SessionStatus): void {
    const was = isLive(session.status)
    session.status = status
    if (was !== isLive(status)) this.#countAddress(session.address, was ? -1 : 1)
  }

  #forget(session: Session<V>): void {
    this.#sessions.delete(session.id)
    if (isLive(session.status)) this.#countAddress(session.address, -1)
    session.vectors.dispose()
  }

  #countAddress(address: string | undefined, delta: number): void {
    if (address === undefined) return
    const n = (this.#liveByAddress.get(address) ?? 0) + delta
    if (n > 0) this.#liveByAddress.set(address, n)
    else this.#liveByAddress.delete(address)
  }

  #checkAddress(address: string | undefined): void {
    const max = this.#opts.maxSessionsPerAddress ?? 0
    if (address === undefined || max <= 0 || this.liveSessionsOf(address) < max) return
    throw new ProtocolError('limit_exceeded', `this client address holds ${max} live sessions, as many as it may; end some first`)
  }
}

/** Active and detached sessions are live: they may not be reclaimed, so they are what a per-address cap counts. */
function isLive(status: SessionStatus): boolean {
  return status === 'active' || status === 'detached'
}
