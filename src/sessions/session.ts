// One session: who owns it, where it is in its lifecycle, its attempts and
// history, and the connections bound to it now. Vector data is attached by
// the host as `vectors` (sessions/ knows it only as something disposable).
import type { SessionStatus } from '@rag-session-host/client/shared'
import { History } from './history.js'

export interface SessionData {
  dispose(): void
}

export class Session<V extends SessionData = SessionData> {
  status: SessionStatus = 'active'
  attempt = 1
  lastActiveAt: number
  /** When the status last changed: the clock for grace and retention. */
  statusSince: number
  /** Set once the session has been abandoned (grace passed with no reconnect). */
  autoRecovered = false
  readonly connections = new Set<string>()
  /** The client address that created it, when known: MAX_SESSIONS_PER_IP counts live sessions by it. */
  address: string | undefined

  constructor(
    readonly id: string,
    /** Short host-given handle for operators. */
    readonly seq: number,
    /** The Ed25519 public key (base64) of the identity that created it. */
    readonly owner: string,
    readonly createdAt: number,
    readonly history: History,
    readonly vectors: V,
  ) {
    this.lastActiveAt = createdAt
    this.statusSince = createdAt
  }

  get ended(): boolean {
    return this.status === 'ended'
  }
}
