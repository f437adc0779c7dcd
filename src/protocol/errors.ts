// The host's side of the error codes (the codes themselves are defined once,
// in the shared module, PROTOCOL.md §5). Host code signals a failure by
// throwing ProtocolError; the reply builders in protocol/replies.ts are the
// only code that turns one into a wire object.
import { DEFAULT_RETRY_AFTER_MS, isRetryable, type ErrorCode, type WireError } from '@rag-session-host/client/shared'

export { ERROR_CODES, DEFAULT_RETRY_AFTER_MS, isErrorCode, isRetryable, type ErrorCode, type WireError } from '@rag-session-host/client/shared'

export class ProtocolError extends Error {
  readonly code: ErrorCode
  readonly retryAfterMs: number | undefined

  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message)
    this.name = 'ProtocolError'
    this.code = code
    this.retryAfterMs = isRetryable(code) ? Math.max(0, Math.ceil(retryAfterMs ?? DEFAULT_RETRY_AFTER_MS)) : undefined
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message, retryable: isRetryable(this.code) }
    if (this.retryAfterMs !== undefined) wire.retry_after_ms = this.retryAfterMs
    return wire
  }
}

/**
 * Turns anything thrown into a wire error. Unknown faults become `internal`
 * with a fixed message: their text may hold data we must not leak.
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof ProtocolError) return err.toWire()
  return new ProtocolError('internal', 'internal error').toWire()
}

// Shorthands keep call sites short and the code visible at a glance.
export const badRequest = (message: string): ProtocolError => new ProtocolError('bad_request', message)
export const limitExceeded = (message: string): ProtocolError => new ProtocolError('limit_exceeded', message)
