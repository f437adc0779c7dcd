// The shape every operation handler has. One handler and its field checks per
// operation; the table in operations/index.ts maps names to handlers.
import type { Logger } from 'pino'
import type { JsonObject } from '../../protocol/inbound.js'
import type { HostContext, HostSession, Peer } from '../context.js'
import type { Notice } from '../outcome.js'

export interface OperationContext {
  readonly host: HostContext
  readonly peer: Peer
  readonly session: HostSession
  readonly request: JsonObject
  /** Child logger carrying session, connection and request ids. */
  readonly log: Logger
}

export interface OperationResult {
  /** The reply's fields, besides type, id and ok. */
  readonly fields: object
  /** For other connections, sent before the reply. */
  readonly notices?: readonly Notice[]
}

export interface Operation {
  /** Refused with `session_ended` once the session has ended (reads stay allowed). */
  readonly changesSession: boolean
  handle(ctx: OperationContext): OperationResult | Promise<OperationResult>
}
