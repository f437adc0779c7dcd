// What request handling needs from the rest of the host, as two small
// interfaces: the host's shared state, and the connection a frame came in on.
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { HostIdentity } from '../crypto/host-identity.js'
import type { Journal } from '../journal/journal.js'
import type { KeyStore } from '../crypto/key-store.js'
import type { ReplayCache } from '../crypto/replay-cache.js'
import type { FrameOffload } from './frame-offload.js'
import type { HostMetrics } from '../ops/metrics.js'
import type { SessionStore } from '../sessions/session-store.js'
import type { Session } from '../sessions/session.js'
import type { SessionVectors, VectorEngine } from '../vectors/index.js'
import type { KeyedRateLimiter } from '../transport/rate-limiter.js'
import type { InboundBudget } from '../transport/inbound-budget.js'
import type { ChangeQueue } from './change-queue.js'
import type { Cluster } from '../cluster/cluster.js'

export type HostSession = Session<SessionVectors>

/** The connection a frame came in on, as dispatch sees it: who it is, where to log. Dispatch never writes to it. */
export interface Peer {
  readonly id: string
  /** The client address, for the per-address limits. */
  readonly address: string
  readonly log: Logger
}

export interface HostContext {
  readonly config: Config
  readonly identity: HostIdentity
  readonly keys: KeyStore
  readonly replays: ReplayCache
  readonly sessions: SessionStore<SessionVectors>
  readonly vectors: VectorEngine
  readonly offload: FrameOffload
  readonly metrics: HostMetrics
  /** Where changes are made durable before they are applied. */
  readonly journal: Journal
  /** One change at a time per session, in journal order. */
  readonly changes: ChangeQueue
  /** The open connections (ops reports how many). */
  readonly connections: ReadonlyMap<string, Peer>
  /** Inbound bytes in flight, host-wide (MAX_INFLIGHT_BYTES): who may read. */
  readonly inbound: InboundBudget
  /** Session inits per client address (INIT_RATE_PER_IP). */
  readonly initRates: KeyedRateLimiter
  readonly log: Logger
  /** Cluster mode (CLUSTER_REDIS_URL): leases, hand-offs, the journal in Redis; undefined on a lone host. */
  readonly cluster?: Cluster | undefined
  now(): number
}
