// The shape every operation handler has. One handler and its field checks per
// operation; the table in operations/index.ts maps names to handlers.
import type { Logger } from 'pino'
import type { JournalRecord } from '../../journal/journal.js'
import type { JsonObject } from '../../protocol/inbound.js'
import type { CheckedItems } from '../../vectors/item-check.js'
import type { HostContext, HostSession, Peer } from '../context.js'
import type { Notice } from '../outcome.js'

export interface OperationContext {
  readonly host: HostContext
  readonly peer: Peer
  readonly session: HostSession
  readonly request: JsonObject
  /** An uploadVectors' items, checked already on the frame worker; `request.vectors` is then absent. */
  readonly items?: CheckedItems | undefined
  /** Child logger carrying session, connection and request ids (built on first use: read it only to write a line). */
  readonly log: Logger
}

export interface OperationResult {
  /** The reply's fields, besides type, id and ok. */
  readonly fields: object
  /** For other connections, sent before the reply. */
  readonly notices?: readonly Notice[]
}

/**
 * A change checked against the session and not yet made: its records go to the
 * journal, and `apply` makes it only once they are durable. It must not throw
 * for a reason the checks could have found.
 */
export interface PendingChange {
  readonly records: readonly JournalRecord[]
  apply(): OperationResult
}

export interface Operation {
  /** Refused with `session_ended` once the session has ended (reads stay allowed). */
  readonly changesSession: boolean
  /** Runs in the session's change order (change-queue.ts): everything that may return a PendingChange. */
  readonly writes: boolean
  handle(ctx: OperationContext): OperationResult | PendingChange | Promise<OperationResult>
}

export function isPendingChange(r: OperationResult | PendingChange): r is PendingChange {
  return 'records' in r
}
