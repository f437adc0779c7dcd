// Cluster mode (CLUSTER_REDIS_URL, docs/SCALING.md): this host's place among
// the others. It verifies the shared identity, keeps the host directory entry
// fresh, owns sessions through leases, loads a session from Redis when an init
// brings it here, hands sessions to other hosts when asked, and gives every
// lease up at a drain.
//
// The init path calls claim() in the session's turn (dispatch's change queue):
// when it returns, this host holds the lease and the session (if it exists
// anywhere) is in memory; when the session cannot be served yet it throws
// `unavailable` with a retry_after_ms, never hangs and never makes a second owner.
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { ConfigError, type Config } from '../config.js'
import type { HostStore } from '../journal/apply.js'
import { ProtocolError } from '../protocol/errors.js'
import type { ClusterMetrics } from './cluster-metrics.js'
import { Leases, type Lease } from './leases.js'
import { NodeRpc, NodeUnreachable } from './node-rpc.js'
import { RedisJournal, unavailable } from './redis-journal.js'
import type { RedisLink } from './redis-link.js'
import { IDENTITY_KEY, NODES_KEY, SEQ_KEY, sessionKeys } from './scripts.js'

/** What the cluster needs from the host around it. */
export interface ClusterDeps {
  config: Config
  link: RedisLink
  store: HostStore
  hostSecret: Uint8Array
  /** The public key clients see (base64): the cluster's identity. */
  publicKey: string
  /** Runs `fn` in the session's turn (the change queue). */
  exclusive: <T>(sessionId: string, fn: () => T | Promise<T>) => Promise<T>
  metrics: ClusterMetrics
  logger: Logger
  now: () => number
  version: string
  observeSnapshot: (result: { bytes: number; ms: number }) => void
}

/** The directory entry each host keeps in rsh:nodes. */
export interface NodeEntry {
  node_id: string
  version: string
  started_at: number
  heartbeat_at: number
  sessions: number
  leases: number
  draining: boolean
}

/** An admin API request carried to another host (ops/admin/cluster-routes.ts), and its answer. */
export interface AdminRequest {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  body?: unknown
}
export interface AdminAnswer {
  status: number
  body: unknown
}

/** A directory entry as the admin API shows it: whether its heartbeat is recent. */
export type NodeView = NodeEntry & { alive: boolean; self: boolean }

/** How long an admin request to another host may take. */
const ADMIN_TIMEOUT_MS = 5000

/** Retry hint while Redis is unreachable or a hand-off is under way. */
const RETRY_MS = 500

export function defaultNodeId(config: Config): string {
  return config.nodeId ?? `${hostname()}:${config.port}`
}

export class Cluster {
  readonly nodeId: string
  readonly leases: Leases
  readonly journal: RedisJournal
  readonly #d: ClusterDeps
  readonly #rpc: NodeRpc
  readonly #startedAt: number
  #started = false
  #draining = false
  #heartbeat: NodeJS.Timeout | undefined

  constructor(d: ClusterDeps) {
    this.#d = d
    const { config } = d
    this.nodeId = defaultNodeId(config)
    this.#startedAt = d.now()
    const idleMs = config.reconnectGraceMs + config.retentionMs + 2 * config.clusterLeaseMs
    this.leases = new Leases({
      link: d.link,
      nodeId: this.nodeId,
      leaseMs: config.clusterLeaseMs,
      idleMs,
      hostSecret: d.hostSecret,
      logger: d.logger,
      now: d.now,
      onLost: (sessionId, why) => {
        d.metrics.lostLeases.inc({ why })
        this.#unload(sessionId)
      },
    })
    this.journal = new RedisJournal({
      link: d.link,
      leases: this.leases,
      hostSecret: d.hostSecret,
      store: d.store,
      logger: d.logger,
      now: d.now,
      retryMs: RETRY_MS,
      idleMs,
      snapshotBytes: config.journalSnapshotBytes,
      exclusive: d.exclusive,
      observeSnapshot: d.observeSnapshot,
      onFenced: (sessionId) => {
        d.metrics.fencedWrites.inc()
        d.logger.warn({ event: 'cluster.write_fenced', session_id: sessionId }, 'a write was refused: another host owns the session now')
        this.leases.forget(sessionId)
        this.#unload(sessionId)
      },
    })
    this.#rpc = new NodeRpc(d.link, this.nodeId, d.logger)
    this.#rpc.handle('release', (body) => this.#onReleaseRequest(body as { session_id: string }))
    // A session gone for good takes its data in Redis with it; one that moved or a host that stops keeps it there.
    d.store.on('dropped', (session, reason) => {
      if (reason === 'moved' || reason === 'shutdown') return
      const lease = this.leases.get(session.id)
      if (!lease) return
      this.leases.forget(session.id)
      this.journal.deleteSession(lease).catch((err: unknown) => {
        d.logger.warn(
          { event: 'cluster.delete_failed', session_id: session.id, err: (err as Error).message },
          "could not delete a dropped session's data; its keys expire by themselves",
        )
      })
    })
  }

  /** Connected, identity checked, listening for requests: the host may take sessions. */
  get ready(): boolean {
    return this.#started && !this.#draining && this.#d.link.healthy
  }

  /**
   * Connects (waiting for a Redis that is down: the host runs, not ready,
   * meanwhile), then checks the identity. Rejects only for what a restart
   * cannot fix: credentials refused, another identity.
   */
  async start(): Promise<void> {
    const { link, publicKey, logger } = this.#d
    await link.connect()
    await link.command(['SET', IDENTITY_KEY, publicKey, 'NX'])
    const recorded = (await link.command(['GET', IDENTITY_KEY])) as string | null
    if (recorded !== publicKey) {
      throw new ConfigError(
        `HOST_SECRET_KEY differs from the identity this cluster recorded in Redis (${IDENTITY_KEY}: public key ${String(recorded)}, this host ${publicKey}): every host of a cluster must share one key`,
      )
    }
    await this.#rpc.start()
    this.leases.start()
    await this.#beat()
    this.#heartbeat = setInterval(() => void this.#beat().catch(() => undefined), Math.max(100, Math.floor(this.#d.config.clusterLeaseMs / 3)))
    this.#heartbeat.unref()
    this.#started = true
    logger.info({ event: 'cluster.joined', node_id: this.nodeId, lease_ms: this.#d.config.clusterLeaseMs }, 'joined the cluster')
  }

  /**
   * Makes this host the session's owner, in the session's turn: the lease
   * (asking the owner to hand it over when another host holds it), then its
   * state from Redis. Returns at once when it is here already.
   */
  async claim(sessionId: string, clientPub: string): Promise<void> {
    const { store, link, config, metrics, logger } = this.#d
    if (this.leases.get(sessionId) && store.get(sessionId)) return
    if (!this.#started || !link.healthy) throw unavailable('the session store (Redis) is unreachable; retry', RETRY_MS)
    if (this.#draining) throw unavailable('this host is shutting down; reconnect and retry', RETRY_MS)
    // Another identity is refused before anything moves: a stranger who knows a session id cannot make it hop hosts.
    const client = (await this.#read(['HGET', sessionKeys(sessionId).owner, 'client'])) as string | null
    if (client !== null && client !== clientPub) throw new ProtocolError('forbidden', 'the session belongs to another identity')
    const local = store.get(sessionId)
    // In memory without a lease (lost meanwhile): Redis is the truth, reload from it.
    if (local) store.unload(local)
    let got = await this.#acquire(sessionId)
    if (!got.ok) {
      const owner = got.owner
      let answer: { released: boolean; retry_after_ms?: number } | undefined
      try {
        answer = (await this.#rpc.request(owner, 'release', { session_id: sessionId }, config.clusterHandoffMs)) as typeof answer
      } catch (err) {
        // The owner is gone or silent: its lease runs out by itself.
        if (!(err instanceof NodeUnreachable)) throw err
        throw unavailable(`the session's host (${owner}) does not answer; it moves here once its lease expires`, Math.max(RETRY_MS, got.ttlMs))
      }
      if (!answer?.released) throw unavailable('the session has just moved to another host; retry', Math.max(RETRY_MS, answer?.retry_after_ms ?? RETRY_MS))
      got = await this.#acquire(sessionId)
      if (!got.ok) throw unavailable('the session is moving between hosts; retry', RETRY_MS)
      metrics.handoffs.inc({ direction: 'in' })
      logger.info({ event: 'cluster.handoff_in', session_id: sessionId, from: owner }, 'session handed over to this host')
    }
    if (got.takeover) {
      metrics.takeovers.inc()
      logger.warn({ event: 'cluster.takeover', session_id: sessionId, epoch: got.lease.epoch }, 'took over a session whose host let its lease expire')
    }
    const t0 = performance.now()
    try {
      const report = await this.journal.load(sessionId)
      const session = store.get(sessionId)
      if (session) store.settleLoaded(session)
      metrics.loadSeconds.observe((performance.now() - t0) / 1000)
      if (report.found)
        logger.info({ event: 'cluster.session_loaded', session_id: sessionId, records: report.records, bytes: report.bytes, ms: report.ms }, 'session loaded from Redis')
      // New to the cluster: its number comes from Redis, so no two hosts hand out the same one.
      if (!session) store.continueSeqFrom(await this.nextSeq())
      if (got.lease.journalBytes >= config.journalSnapshotBytes) void this.journal.snapshot(sessionId)
    } catch (err) {
      // Nothing half-loaded stays: the next init loads it afresh.
      const half = store.get(sessionId)
      if (half) store.unload(half)
      await this.leases.release(got.lease).catch(() => undefined)
      if (err instanceof ProtocolError) throw err
      logger.error({ event: 'cluster.load_failed', session_id: sessionId, err: (err as Error).message }, 'could not load a session from Redis')
      throw unavailable('the session could not be loaded; retry', RETRY_MS)
    }
  }

  /** Serves admin requests other hosts carry here (the host's own admin routes run them). */
  onAdmin(run: (req: AdminRequest, from: string) => Promise<AdminAnswer>): void {
    this.#rpc.handle('admin', (body, from) => run(body as AdminRequest, from))
  }

  async askAdmin(node: string, req: AdminRequest): Promise<AdminAnswer> {
    return (await this.#rpc.request(node, 'admin', req, ADMIN_TIMEOUT_MS)) as AdminAnswer
  }

  /** Every host of the directory; alive when its heartbeat is younger than a lease. */
  async nodes(): Promise<NodeView[]> {
    const raw = (await this.#d.link.command(['HGETALL', NODES_KEY])) as string[] | Record<string, string>
    // RESP2 answers a flat [field, value, ...] list, RESP3 a map.
    const values = Array.isArray(raw) ? raw.filter((_, i) => i % 2 === 1) : Object.values(raw)
    const now = this.#d.now()
    const out: NodeView[] = []
    for (const text of values) {
      try {
        const e = JSON.parse(text) as NodeEntry
        out.push({ ...e, alive: now - e.heartbeat_at < this.#d.config.clusterLeaseMs, self: e.node_id === this.nodeId })
      } catch {
        // Not ours: skipped.
      }
    }
    return out.sort((a, b) => a.node_id.localeCompare(b.node_id))
  }

  /** A number for a session new to the cluster (rsh:seq), so no two hosts hand out the same one. */
  async nextSeq(): Promise<number> {
    return Number(await this.#d.link.command(['INCR', SEQ_KEY]))
  }

  /** SIGTERM: no new sessions here; what is pending is written; every lease goes at once. */
  async drain(): Promise<void> {
    this.#draining = true
    await this.journal.flush()
    this.leases.stop()
    const leases = [...this.leases.values()]
    await Promise.allSettled(leases.map((l) => this.leases.release(l)))
    this.#d.logger.info({ event: 'cluster.drained', released: leases.length }, 'leases released')
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    await this.#d.link.command(['HDEL', NODES_KEY, this.nodeId]).catch(() => undefined)
  }

  async close(): Promise<void> {
    this.leases.stop()
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    await this.#d.link.close()
  }

  async #read(args: string[]): Promise<unknown> {
    try {
      return await this.#d.link.command(args)
    } catch {
      throw unavailable('the session store (Redis) is unreachable; retry', RETRY_MS)
    }
  }

  async #acquire(sessionId: string): Promise<Awaited<ReturnType<Leases['acquire']>>> {
    try {
      return await this.leases.acquire(sessionId)
    } catch {
      throw unavailable('the session store (Redis) is unreachable; retry', RETRY_MS)
    }
  }

  /** Another host has an init for one of ours: hand it over, unless it only just came here (CLUSTER_HOLD_MS). */
  async #onReleaseRequest(body: { session_id: string }): Promise<{ released: boolean; retry_after_ms?: number }> {
    const sessionId = body.session_id
    const { config, now, exclusive, store, metrics, logger } = this.#d
    const lease = this.leases.get(sessionId)
    if (!lease) return { released: true } // not ours (any more): the asker may take it
    const held = now() - lease.since
    // Draining, it gives everything up; otherwise a session that just came stays a while.
    if (!this.#draining && held < config.clusterHoldMs) return { released: false, retry_after_ms: config.clusterHoldMs - held }
    return exclusive(sessionId, async () => {
      // In its turn: every change before this one is applied and stored.
      await this.journal.flush()
      const current = this.leases.get(sessionId)
      if (current !== lease) return { released: true }
      this.leases.forget(sessionId)
      const session = store.get(sessionId)
      if (session) store.unload(session)
      await this.#release(lease)
      metrics.handoffs.inc({ direction: 'out' })
      logger.info({ event: 'cluster.handoff_out', session_id: sessionId }, 'session handed over to another host')
      return { released: true }
    })
  }

  async #release(lease: Lease): Promise<void> {
    try {
      await this.leases.release(lease)
    } catch {
      // Unreachable: the lease expires by itself; the asker retries until then.
    }
  }

  #unload(sessionId: string): void {
    const session = this.#d.store.get(sessionId)
    if (session) this.#d.store.unload(session)
  }

  async #beat(): Promise<void> {
    const entry: NodeEntry = {
      node_id: this.nodeId,
      version: this.#d.version,
      started_at: this.#startedAt,
      heartbeat_at: this.#d.now(),
      sessions: this.#d.store.size,
      leases: this.leases.size,
      draining: this.#draining,
    }
    await this.#d.link.command(['HSET', NODES_KEY, this.nodeId, JSON.stringify(entry)])
  }
}
