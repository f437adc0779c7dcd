// When the client retries a request by itself, and after how long. Pure
// policy, like reconnect-policy.ts: the client asks, this answers.
//
// Only `unavailable` is retried (PROTOCOL.md §8.1): the session cannot be
// served right now (it is moving between hosts, or its store is
// unreachable), and the host promises that a change answered `unavailable`
// was not applied, so sending the same request again is safe for every
// operation, inits included. Every other error, retryable or not, goes to
// the caller as before.
import { HostError } from './errors.js'

/** The wait when the host sent no `retry_after_ms`. */
export const UNAVAILABLE_DEFAULT_DELAY_MS = 1_000
/** The shortest wait, so that a hint of 0 does not make the client spin. */
export const UNAVAILABLE_MIN_DELAY_MS = 50
/** The longest wait: a larger hint is cut to this (the host answers `unavailable` again if it is still too early). */
export const UNAVAILABLE_MAX_DELAY_MS = 10_000

/** How long to wait before sending a request answered `err` again: the host's hint, else the default, within [MIN, MAX]. */
export function unavailableDelayMs(err: HostError): number {
  const hint = err.retryAfterMs ?? UNAVAILABLE_DEFAULT_DELAY_MS
  return Math.min(UNAVAILABLE_MAX_DELAY_MS, Math.max(UNAVAILABLE_MIN_DELAY_MS, Math.ceil(hint)))
}

/**
 * The wait before the client sends a request answered `err` again by
 * itself, or undefined when it fails the request with `err` now: `err` is
 * not a retryable `unavailable`, or the request's deadline (`remainingMs`
 * from now) would pass before the retry could be sent.
 */
export function unavailableRetryDelay(err: unknown, remainingMs: number): number | undefined {
  if (!(err instanceof HostError) || err.code !== 'unavailable' || !err.retryable) return undefined
  const delay = unavailableDelayMs(err)
  return delay < remainingMs ? delay : undefined
}
