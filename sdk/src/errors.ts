// The one error type the client SDK rejects with. A HostError carries the
// contract's error code (PROTOCOL.md §5) when the host answered, or
// one of the client-side codes below when the host could not be heard.
import { isErrorCode, isRetryable, type ErrorCode } from './shared/error-codes.js'

/**
 * Client-side codes:
 * - `timeout`: no reply within the request timeout (retryable).
 * - `disconnected`: the connection dropped before the reply came, or the
 *   client is closed (retryable, except once the client is closed for good).
 * - `protocol_error`: the host said something the contract does not allow
 *   (bad host info, wrong protocol version, malformed reply). Not retryable.
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'protocol_error'
export type HostErrorCode = ErrorCode | ClientErrorCode

export interface HostErrorOptions {
  /** Defaults to what the code implies (see `defaultRetryable`). */
  retryable?: boolean
  retryAfterMs?: number
  requestId?: string | null
  cause?: unknown
}

/** The contract's retryable codes, plus `timeout` and `disconnected`. */
export function defaultRetryable(code: string): boolean {
  if (code === 'timeout' || code === 'disconnected') return true
  return isErrorCode(code) && isRetryable(code)
}

export class HostError extends Error {
  /** A contract code, a client-side code, or (from a newer host) a code this SDK does not know. */
  readonly code: HostErrorCode | (string & {})
  readonly retryable: boolean
  /** The host's hint for retryable codes (`retry_after_ms`), else undefined. */
  readonly retryAfterMs: number | undefined
  /** The request this error answers; undefined when it concerns no request. */
  readonly requestId: string | undefined

  constructor(code: HostErrorCode | (string & {}), message: string, options: HostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HostError'
    this.code = code
    this.retryable = options.retryable ?? defaultRetryable(code)
    this.retryAfterMs = options.retryAfterMs
    this.requestId = options.requestId ?? undefined
  }

  /**
   * Builds a HostError from a wire `error` object (`{code, message, retryable,
   * retry_after_ms?}`). Something that is not such an object is itself a
   * contract violation and gives `protocol_error`.
   */
  static fromWire(wire: unknown, requestId?: string | null): HostError {
    if (typeof wire !== 'object' || wire === null || typeof (wire as { code?: unknown }).code !== 'string') {
      return new HostError('protocol_error', 'host sent an error without a code', { requestId, retryable: false })
    }
    const w = wire as { code: string; message?: unknown; retryable?: unknown; retry_after_ms?: unknown }
    const retryAfter = w.retry_after_ms
    return new HostError(w.code, typeof w.message === 'string' ? w.message : w.code, {
      retryable: typeof w.retryable === 'boolean' ? w.retryable : defaultRetryable(w.code),
      retryAfterMs: typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
      requestId,
    })
  }
}

export function isHostError(err: unknown): err is HostError {
  return err instanceof HostError
}

/** True for a HostError that says the same call may succeed later. */
export function isRetryableError(err: unknown): boolean {
  return err instanceof HostError && err.retryable
}

/**
 * How long to wait before retrying `err`: the host's `retry_after_ms` when
 * it gave one, else `fallbackMs`; undefined when `err` is not retryable.
 */
export function retryDelayMs(err: unknown, fallbackMs = 1000): number | undefined {
  if (!isRetryableError(err)) return undefined
  return (err as HostError).retryAfterMs ?? fallbackMs
}

/** An error's message with its system code (fetch hides ECONNREFUSED and the like in `cause`). */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  if (code && !message.includes(code)) return `${message} (${code})`
  return message
}
