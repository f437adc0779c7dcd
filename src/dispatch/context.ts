// What request handling needs from the rest of the host, as two small
// interfaces: the host's shared state, and the connection a frame came in on.
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { HostIdentity } from '../crypto/host-identity.js'
import type { KeyStore } from '../crypto/key-store.js'
import type { ReplayCache } from '../crypto/replay-cache.js'
import type { SecretboxOffload } from '../crypto/secretbox.js'
import type { HostMetrics } from '../ops/metrics.js'
import type { SessionStore } from '../sessions/session-store.js'
import type { Session } from '../sessions/session.js'
import type { SessionVectors, VectorEngine } from '../vectors/index.js'

export type HostSession = Session<SessionVectors>

export interface ConnectionPort {
  readonly id: string
  readonly log: Logger
  /** True until the socket has closed. */
  readonly open: boolean
  sendPlain(frame: object): void
  /** Seals `plaintext` (an object, or its JSON as UTF-8 bytes) with the connection's current key for `sessionId` and sends it; false if it holds none. */
  sendSealed(id: string | null, sessionId: string, plaintext: object | Uint8Array): Promise<boolean>
  /** Milliseconds until this connection may send another request; 0 when it may now. */
  throttle(): number
}

export interface HostContext {
  readonly config: Config
  readonly identity: HostIdentity
  readonly keys: KeyStore
  readonly replays: ReplayCache
  readonly sessions: SessionStore<SessionVectors>
  readonly vectors: VectorEngine
  readonly secretbox: SecretboxOffload
  readonly metrics: HostMetrics
  readonly connections: ReadonlyMap<string, ConnectionPort>
  readonly log: Logger
  now(): number
}
