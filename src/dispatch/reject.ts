// A frame refused before any operation ran: counted, logged and answered in
// plaintext with the frame's id (or null), the same way at every stage.
import { ProtocolError } from '../protocol/errors.js'
import { initRejected, plainError } from '../protocol/replies.js'
import type { HostMetrics } from '../ops/metrics.js'
import type { HostContext, Peer } from './context.js'
import type { Outcome } from './outcome.js'

/** Where the frame was refused: unreadable or unknown frames (PROTOCOL.md §3.3 stage "frame"), encrypted_message envelopes (§3.3), session inits (§2.2). */
type RejectStage = 'frame' | 'envelope' | 'init'

const countEnvelopeError = (m: HostMetrics, code: string): void => m.envelopeErrors.inc({ code })

const STAGES = {
  // Its message is the host's own fixed error text (docs/OPERATIONS.md).
  frame: { event: 'frame.rejected', fault: 'frame.fault', message: undefined, reply: plainError, count: countEnvelopeError },
  envelope: { event: 'request.rejected', fault: 'request.fault', message: 'encrypted message rejected', reply: plainError, count: countEnvelopeError },
  init: {
    event: 'init.rejected',
    fault: 'init.fault',
    message: 'session init rejected',
    reply: initRejected,
    count: (m: HostMetrics, code: string): void => m.inits.inc({ outcome: code }),
  },
} as const

/** `err` is a ProtocolError for a refusal; anything else is a host fault, logged as one and answered `internal`. */
export function rejectFrame(ctx: HostContext, peer: Peer, stage: RejectStage, id: string | null, err: unknown, fields: Record<string, unknown> = {}): Outcome {
  const s = STAGES[stage]
  const code = err instanceof ProtocolError ? err.code : 'internal'
  s.count(ctx.metrics, code)
  const message = s.message ?? (err instanceof ProtocolError ? err.message : 'frame rejected')
  peer.log.info({ event: s.event, code, req_id: id, ...fields }, message)
  if (!(err instanceof ProtocolError)) peer.log.error({ event: s.fault, err, req_id: id }, 'host fault')
  return { reply: { kind: 'plain', frame: s.reply(id, err) } }
}
