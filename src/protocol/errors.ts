// Every error code of the wire contract (protocol v1, section 5), in one place.
// Host code signals a failure by throwing ProtocolError; the reply builders in
// protocol/replies.ts are the only code that turns one into a wire object.

export const ERROR_CODES = [
  'bad_request',
  'decrypt_failed',
  'stale',
  'replayed',
  'bad_signature',
  'forbidden',
  'no_session',
  'capacity_exceeded',
  'rate_limited',
  'session_ended',
  'invalid_id',
  'dimension_mismatch',
  'invalid_vector',
  'invalid_metadata',
  'limit_exceeded',
  'internal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Codes a client may retry; the contract marks exactly these. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'capacity_exceeded',
  'rate_limited',
  'internal',
])

/** Used when a retryable error has no better estimate of when to retry. */
export const DEFAULT_RETRY_AFTER_MS = 1000

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code)
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

export interface WireError {
  code: ErrorCode
  message: string
  retryable: boolean
  retry_after_ms?: number
}

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
