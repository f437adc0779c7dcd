// The step between checking a change and making it: its records go to the
// journal, and only once they are durable is it applied (and its reply sent).
// A journal that cannot write fails the request as a retryable `internal`,
// with nothing applied, so memory and disk agree.
import { JournalUnavailable, type JournalRecord } from '../journal/journal.js'
import { ProtocolError } from '../protocol/errors.js'
import type { HostContext } from './context.js'

/** Applies `apply` once `records` are durable; at once when there is nothing to wait for. */
export function commitThen<T>(ctx: HostContext, records: readonly JournalRecord[], apply: () => T, undo?: () => void): T | Promise<T> {
  const durable = records.length > 0 ? ctx.journal.commit(records) : undefined
  if (!durable) return apply()
  return durable.then(apply, (err: unknown) => {
    undo?.()
    throw refused(err, ctx.config.journalRetryMs)
  })
}

function refused(err: unknown, retryMs: number): unknown {
  if (!(err instanceof JournalUnavailable)) return err
  return new ProtocolError('internal', 'the host could not write the change to its journal; it was not applied', retryMs)
}
