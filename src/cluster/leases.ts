// The sessions this host owns: one lease each in Redis (scripts.ts), renewed
// together every third of CLUSTER_LEASE_MS in one pipelined round trip, with
// the fencing epoch every journal write of that session carries.
//
// A lease is trusted only as long as it is known to be valid: until the
// lease time after the start of its last successful renewal, less a margin
// for clocks that run at different rates. Past that, or when Redis says
// another host holds it now, the session is lost: `onLost` drops it from
// memory and its clients are told to reconnect (evicted, reason moved).
import type { Logger } from 'pino'
import { EntrySealer } from './entry-seal.js'
import type { RedisLink } from './redis-link.js'
import { ACQUIRE, FENCE_KEY, RELEASE, RENEW, sessionKeys } from './scripts.js'

/** Share of the lease not trusted: clocks of two hosts may drift apart by this much over one lease. */
const SAFETY = 0.1

export interface Lease {
  readonly sessionId: string
  readonly epoch: number
  /** When this host took it (CLUSTER_HOLD_MS counts from here). */
  readonly since: number
  /** Valid until (performance.now() time); renewals move it on. */
  validUntil: number
  /** Seals this ownership's journal entries under one salt. */
  readonly sealer: EntrySealer
  /** Stream id of the last entry Redis acknowledged ('0-0' before any). */
  lastId: string
  /** A write whose outcome is unknown: the entries after lastId are voided before the next one. */
  dirty: boolean
  /** Bytes appended since the last snapshot (the snapshot trigger). */
  journalBytes: number
}

export type Acquired = { ok: true; lease: Lease; takeover: boolean } | { ok: false; owner: string; ttlMs: number }

export interface LeasesOptions {
  link: RedisLink
  nodeId: string
  leaseMs: number
  /** TTL of a session's keys after its owner last renewed them (reconnect grace + retention). */
  idleMs: number
  hostSecret: Uint8Array
  logger: Logger
  now: () => number
  /** The lease is lost: another host holds it, or it may have expired. */
  onLost(sessionId: string, why: 'taken' | 'expired'): void
}

export class Leases {
  readonly #o: LeasesOptions
  readonly #held = new Map<string, Lease>()
  #timer: NodeJS.Timeout | undefined
  #renewing = false

  constructor(o: LeasesOptions) {
    this.#o = o
  }

  get size(): number {
    return this.#held.size
  }

  get(sessionId: string): Lease | undefined {
    const lease = this.#held.get(sessionId)
    return lease && lease.validUntil > performance.now() ? lease : undefined
  }

  values(): IterableIterator<Lease> {
    return this.#held.values()
  }

  async acquire(sessionId: string): Promise<Acquired> {
    const { link, nodeId, leaseMs, idleMs } = this.#o
    const k = sessionKeys(sessionId)
    const sent = performance.now()
    const reply = (await link.eval(ACQUIRE, [k.lease, k.owner, k.log, k.snap, FENCE_KEY], [nodeId, String(leaseMs), String(idleMs)])) as [number, number | string, number]
    if (reply[0] !== 1) return { ok: false, owner: String(reply[1]), ttlMs: Math.max(0, Number(reply[2])) }
    const epoch = Number(reply[1])
    const had = this.#held.get(sessionId)
    if (had && had.epoch === epoch) {
      had.validUntil = sent + leaseMs * (1 - SAFETY)
      return { ok: true, lease: had, takeover: false }
    }
    const lease: Lease = {
      sessionId,
      epoch,
      since: this.#o.now(),
      validUntil: sent + leaseMs * (1 - SAFETY),
      sealer: new EntrySealer(this.#o.hostSecret),
      lastId: '0-0',
      dirty: false,
      journalBytes: 0,
    }
    this.#held.set(sessionId, lease)
    return { ok: true, lease, takeover: reply[2] === 1 }
  }

  /** Gives the lease up at once (a hand-off, a drain), so the next host need not wait for it to expire. */
  async release(lease: Lease): Promise<void> {
    if (this.#held.get(lease.sessionId) === lease) this.#held.delete(lease.sessionId)
    const k = sessionKeys(lease.sessionId)
    await this.#o.link.eval(RELEASE, [k.lease, k.owner, k.log, k.snap], [this.#o.nodeId, String(lease.epoch), String(this.#o.idleMs)])
  }

  /** Forgets a lease without telling Redis (the session's data was deleted, or the lease is lost). */
  forget(sessionId: string): void {
    this.#held.delete(sessionId)
  }

  start(): void {
    this.#timer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(this.#o.leaseMs / 3)))
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One round of renewals (pipelined: the client sends them together). Also drops leases that can no longer be trusted. */
  async renewAll(): Promise<void> {
    if (this.#renewing) return
    this.#renewing = true
    try {
      const { link, nodeId, leaseMs, idleMs } = this.#o
      const sent = performance.now()
      const leases = [...this.#held.values()]
      const results = await Promise.allSettled(
        leases.map((l) => {
          const k = sessionKeys(l.sessionId)
          return link.eval(RENEW, [k.lease, k.owner, k.log, k.snap], [nodeId, String(l.epoch), String(leaseMs), String(idleMs)])
        }),
      )
      results.forEach((r, i) => {
        const lease = leases[i]!
        if (this.#held.get(lease.sessionId) !== lease) return
        if (r.status === 'fulfilled' && r.value === 1) lease.validUntil = sent + leaseMs * (1 - SAFETY)
        else if (r.status === 'fulfilled') this.#lose(lease, 'taken')
      })
      this.expire()
    } finally {
      this.#renewing = false
    }
  }

  /** Drops every lease past its trusted time (Redis unreachable too long to know). */
  expire(): void {
    const t = performance.now()
    for (const lease of [...this.#held.values()]) if (lease.validUntil <= t) this.#lose(lease, 'expired')
  }

  #lose(lease: Lease, why: 'taken' | 'expired'): void {
    this.#held.delete(lease.sessionId)
    this.#o.logger.warn({ event: 'cluster.lease_lost', session_id: lease.sessionId, epoch: lease.epoch, why }, 'lease lost: the session is dropped here')
    this.#o.onLost(lease.sessionId, why)
  }
}
