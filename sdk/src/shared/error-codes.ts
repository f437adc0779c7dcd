// Every error code of the wire contract (PROTOCOL.md §5), in one place for
// host and SDK. The host raises them through protocol/errors.ts; the SDK
// surfaces them as HostError.

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
  /**
   * The session cannot be served right now: it is moving between hosts, or
   * its store is unreachable; retry the same request (after `retry_after_ms`).
   * A change answered `unavailable` was not applied (PROTOCOL.md §8.1).
   */
  'unavailable',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Codes a client may retry; the contract marks exactly these. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['capacity_exceeded', 'rate_limited', 'internal', 'unavailable'])

/** Used when a retryable error has no better estimate of when to retry. */
export const DEFAULT_RETRY_AFTER_MS = 1000

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code)
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

/** The `error` object of every failed reply. */
export interface WireError {
  code: ErrorCode
  message: string
  retryable: boolean
  retry_after_ms?: number
}
