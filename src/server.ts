// buildServer(config): the host's state and its Fastify instance, wired
// together, plus a graceful shutdown. main.ts runs it; tests build as many as
// they like, each on its own port.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import websocket from '@fastify/websocket'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { loadHostIdentity, type HostIdentity } from './crypto/host-identity.js'
import { KeyStore } from './crypto/key-store.js'
import { ReplayCache } from './crypto/replay-cache.js'
import { FrameOffload } from './dispatch/frame-offload.js'
import { ChangeQueue } from './dispatch/change-queue.js'
import type { HostContext } from './dispatch/context.js'
import { FileJournal, NoJournal, type Journal } from './journal/journal.js'
import { Cluster } from './cluster/cluster.js'
import { ClusterMetrics } from './cluster/cluster-metrics.js'
import { RedisLink } from './cluster/redis-link.js'
import { VERSION } from './version.js'
import { registerAdmin } from './ops/admin/index.js'
import { serveCarried } from './ops/admin/cluster-routes.js'
import { adminToken } from './ops/admin/token.js'
import { EventLoopMonitor } from './ops/event-loop.js'
import { HttpLogController } from './ops/http-log.js'
import { DEFAULT_SAMPLE_MS, Readiness } from './ops/readiness.js'
import { registerHttpRoutes } from './ops/http-routes.js'
import { createLogger } from './ops/logger.js'
import { HostMetrics } from './ops/metrics.js'
import { SessionStore } from './sessions/session-store.js'
import { ConnectionRegistry } from './transport/connection-registry.js'
import { InboundBudget } from './transport/inbound-budget.js'
import { Outbound } from './transport/outbound.js'
import { KeyedRateLimiter } from './transport/rate-limiter.js'
import { registerWebSocketRoute } from './transport/websocket-route.js'
import { VectorEngine, type SessionVectors } from './vectors/index.js'

export interface HostServer {
  readonly app: FastifyInstance
  readonly ctx: HostContext
  /** Listens on config.host:config.port; resolves with the base URL (http://...). */
  listen(): Promise<string>
  /** Stops taking connections, tells every client, closes sockets and workers. Idempotent. */
  close(): Promise<void>
  /**
   * Cluster mode: resolves once the host has joined (Redis reached, identity
   * checked); it waits for a Redis that is down. Rejects with a ConfigError
   * for what only an operator can fix (credentials refused, another
   * identity): the host must then stop. Resolves at once on a lone host.
   */
  readonly joined: Promise<void>
}

export interface BuildOptions {
  logger?: Logger
  identity?: HostIdentity
  now?: () => number
  /** A fault the host found in itself, after which it must stop (main.ts stops it gracefully, exit code 1). */
  onFault?: (err: Error) => void
}

/** A graph holding the only copy of a session's indexed rows failed (vectors/engine.ts). */
export class VectorsLost extends Error {
  constructor(
    readonly sessionId: string,
    reason: string,
  ) {
    super(`the vector graph of a session failed (${reason}); its rows are in the journal`)
    this.name = 'VectorsLost'
  }
}

/** Longest wait at shutdown for frames already received to be answered. */
const DRAIN_MAX_MS = 3000
/** How long a client gets to answer the close frame at shutdown before its socket is cut. */
const CLOSE_WAIT_MS = 1000

export async function buildServer(config: Config, opts: BuildOptions = {}): Promise<HostServer> {
  const log = opts.logger ?? createLogger(config.logLevel, undefined, config.logFormat)
  const now = opts.now ?? Date.now
  const identity = opts.identity ?? loadHostIdentity({ secretKeyBase64: config.hostSecretKey, dataDir: config.dataDir })
  const vectors = new VectorEngine({
    limits: {
      maxBatch: config.maxBatch,
      maxVectorsPerSession: config.maxVectorsPerSession,
      maxDims: config.maxDims,
      maxK: config.maxK,
      maxMetadataBytes: config.maxMetadataBytes,
    },
    tuning: {
      exactSearchMaxVectors: config.exactSearchMaxVectors,
      hnswM: config.hnswM,
      hnswEfConstruction: config.hnswEfConstruction,
      hnswEfSearch: config.hnswEfSearch,
    },
    maxVectorBytes: config.maxVectorBytes,
    logger: log,
    // One copy of each indexed vector (in its graph) where a journal holds them all; docs/VECTORS.md.
    singleCopy: config.persist || config.clusterRedisUrl !== undefined,
    // Only the journal still has the rows that graph held: restart, and recovery (or another host) restores them.
    onVectorsLost: (sessionId, reason) => opts.onFault?.(new VectorsLost(sessionId, reason)),
  })
  const sessions = new SessionStore<SessionVectors>({
    maxSessions: config.maxSessions,
    maxHistory: config.maxHistory,
    maxMessageChars: config.maxMessageChars,
    reconnectGraceMs: config.reconnectGraceMs,
    retentionMs: config.retentionMs,
    maxSessionsPerAddress: config.maxSessionsPerIp,
    createVectors: (id) => vectors.createSessionIndex(id),
    logger: log,
    now,
  })
  const metrics = new HostMetrics({
    sessionsByStatus: () => sessions.countByStatus(),
    vectors: () => vectors.stats(),
    keys: () => keys.size,
    replayCache: () => replays.size,
    journal: () => ({ ...journal.stats(), healthy: journal.healthy }),
  })
  let journalHealthy = true
  const changes = new ChangeQueue()
  const cluster = config.clusterRedisUrl === undefined ? undefined : buildCluster()
  function buildCluster(): Cluster {
    const clusterMetrics = new ClusterMetrics(metrics.registry, () => cluster?.leases.size ?? 0)
    const link = new RedisLink({ url: config.clusterRedisUrl!, logger: log, observeRtt: (s) => clusterMetrics.redisSeconds.observe(s), onHealth: () => undefined })
    return new Cluster({
      config,
      link,
      store: sessions,
      hostSecret: identity.storageKey,
      publicKey: identity.publicKeyBase64,
      exclusive: async (sessionId, fn) => changes.run(sessionId, fn),
      metrics: clusterMetrics,
      logger: log,
      now,
      version: VERSION,
      observeSnapshot: (r) => {
        metrics.snapshotSeconds.observe(r.ms / 1000)
        metrics.snapshotBytes.set(r.bytes)
      },
    })
  }
  // Recovery fills the store before anything else can touch it (a cluster loads sessions as inits bring them).
  const journal: Journal = cluster
    ? cluster.journal
    : config.persist
      ? new FileJournal({
          dataDir: config.dataDir,
          hostSecret: identity.storageKey,
          fsync: config.journalFsync as 'always' | 'interval' | 'off',
          fsyncIntervalMs: config.journalFsyncMs,
          retryMs: config.journalRetryMs,
          snapshotBytes: config.journalSnapshotBytes,
          snapshotIntervalMs: config.journalSnapshotMs,
          store: sessions,
          logger: log,
          now,
          onHealth: (healthy) => {
            journalHealthy = healthy
          },
          observe: {
            fsync: (s) => metrics.fsyncSeconds.observe(s),
            snapshot: (r) => {
              metrics.snapshotSeconds.observe(r.ms / 1000)
              metrics.snapshotBytes.set(r.bytes)
            },
          },
        })
      : new NoJournal()
  const keys = new KeyStore()
  const replays = new ReplayCache(config.replayWindowMs, config.replayCacheMax)
  const offload = new FrameOffload(config.cryptoOffloadBytes)
  if (journal instanceof FileJournal) metrics.recoverySeconds.set(journal.report.ms / 1000)
  const outbound = new Outbound(keys, offload, metrics)
  const registry = new ConnectionRegistry({ keys, sessions, metrics, outbound })
  const inbound = new InboundBudget({ limit: config.maxInflightBytes, maxFrameBytes: config.maxFrameBytes, slowClientMs: config.slowClientMs, metrics, log })
  const ctx: HostContext = {
    config,
    identity,
    keys,
    replays,
    sessions,
    vectors,
    offload,
    metrics,
    journal,
    changes,
    cluster,
    initRates: new KeyedRateLimiter(config.initRatePerIp),
    inbound,
    connections: registry,
    log,
    now,
  }
  // A dropped session's keys are wiped as it is dropped (after its evicted notices are sealed).
  sessions.on('dropped', (session, reason) => registry.sessionDropped(session, reason))

  // Not ready while starting or stopping, while the journal refuses changes, and under pressure
  // (event-loop delay, heap): the balancer sends clients elsewhere meanwhile.
  const state = new Readiness({
    log,
    journalWritable: () => (cluster ? cluster.ready : journalHealthy),
    journalRetryMs: config.journalRetryMs,
    maxEventLoopDelayMs: config.readyMaxEventLoopDelayMs,
    maxHeapUsedBytes: config.readyMaxHeapUsedBytes,
    measure: () => app.memoryUsage(),
  })

  // Typed as Fastify's base logger so plugins and routes see the default instance type.
  const httpLog: FastifyBaseLogger = log
  const app: FastifyInstance = Fastify({
    loggerInstance: httpLog,
    logController: new HttpLogController(),
    trustProxy: config.trustProxy,
    bodyLimit: 64 * 1024,
    // A session id may be 128 characters, and the admin API takes one in its path (`%23<seq>` or the id itself).
    routerOptions: { maxParamLength: 256 },
    forceCloseConnections: true,
  })
  if (config.httpRateLimitMax > 0) {
    await app.register(rateLimit, { max: config.httpRateLimitMax, timeWindow: 60_000 })
  }
  // ws would close the socket (1007) on a text frame that is not UTF-8; the
  // contract wants a plaintext error and an open connection, so the router checks it.
  // The measure only (Readiness decides): its own refusal would turn away requests on open connections' behalf too.
  await app.register(underPressure, { sampleInterval: DEFAULT_SAMPLE_MS })
  await app.register(websocket, {
    options: { maxPayload: config.maxFrameBytes, skipUTF8Validation: true },
    // Its default logs every socket error at error level and terminates the
    // socket, cutting short the close ws has begun (1009, 1002). Socket errors
    // are a client's doing, classified by the Connection's own listener; the
    // route's handler catches its own faults (websocket-route.ts).
    errorHandler: () => undefined,
  })
  await registerHttpRoutes(app, ctx, state)
  const eventLoop = new EventLoopMonitor()
  const token = adminToken(config)
  await registerAdmin(app, ctx, token, {
    startedAt: now(),
    ready: () => state.ready(),
    eventLoop,
    notify: (connectionId, sessionId, body) => {
      const conn = registry.get(connectionId)
      if (conn) outbound.notice(conn, sessionId, body)
    },
  })
  registerWebSocketRoute(app, ctx, registry, state)
  // Admin requests other hosts carry here run through this host's own routes.
  if (cluster && token !== undefined) serveCarried(app, cluster, token)

  // One timer each for all sessions and all sockets, not one per object.
  const sweeper = setInterval(() => {
    sessions.sweep()
    replays.sweep(now())
    ctx.initRates.sweep(now())
  }, config.sweepIntervalMs)
  const heartbeat = setInterval(() => {
    for (const conn of registry.values()) conn.heartbeat()
  }, config.heartbeatIntervalMs)
  sweeper.unref()
  heartbeat.unref()

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      state.stopping()
      clearInterval(sweeper)
      clearInterval(heartbeat)
      log.info({ event: 'host.stopping', connections: registry.size, sessions: sessions.size }, 'host stopping')
      // Answer what clients already sent, then tell them and close.
      await registry.shutdown(Math.min(DRAIN_MAX_MS, config.shutdownGraceMs / 2), Math.min(CLOSE_WAIT_MS, config.shutdownGraceMs / 4))
      await app.close()
      // Everything acknowledged is on disk already; this writes the rest (and a snapshot when cheap).
      await journal.close().catch((err: unknown) => log.error({ event: 'journal.close_failed', err }, 'journal flush at shutdown failed'))
      // Every lease goes at once: the hosts the clients reconnect to need not wait for them to expire.
      if (cluster) {
        await cluster
          .drain()
          .catch((err: unknown) => log.warn({ event: 'cluster.drain_failed', err: (err as Error).message }, 'could not release every lease; they expire by themselves'))
        await cluster.close()
      }
      sessions.clear()
      eventLoop.close()
      await Promise.all([vectors.close(), offload.close()])
      log.info({ event: 'host.stopped' }, 'host stopped')
    })())

  let join: { resolve(): void; reject(err: unknown): void } | undefined
  const joined = cluster
    ? new Promise<void>((resolve, reject) => {
        join = { resolve, reject }
      })
    : Promise.resolve()
  // A rejection nobody awaits (a test that never listens) must not count as unhandled.
  joined.catch(() => undefined)

  return {
    app,
    ctx,
    joined,
    async listen() {
      await app.listen({ host: config.host, port: config.port })
      state.started()
      // Joins in the background: the host answers /ready (503 until joined) while Redis is awaited.
      if (cluster)
        cluster.start().then(
          () => join!.resolve(),
          (err: unknown) => join!.reject(err),
        )
      const address = app.server.address()
      const port = typeof address === 'object' && address ? address.port : config.port
      const host = config.host.includes(':') ? `[${config.host}]` : config.host
      return `http://${host}:${port}`
    },
    close,
  }
}
