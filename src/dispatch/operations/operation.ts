// The shape every operation handler has. One handler and its field checks per
// operation; the table in operations/index.ts maps names to handlers.
import type { Logger } from 'pino'
import type { JsonObject } from '../../protocol/inbound.js'
import type { ConnectionPort, HostContext, HostSession } from '../context.js'

export interface OperationContext {
  readonly host: HostContext
  readonly conn: ConnectionPort
  readonly session: HostSession
  readonly request: JsonObject
  /** Child logger carrying session, connection and request ids. */
  readonly log: Logger
}

export interface Operation {
  /** Refused with `session_ended` once the session has ended (reads stay allowed). */
  readonly changesSession: boolean
  handle(ctx: OperationContext): object | Promise<object>
}
