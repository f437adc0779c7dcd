// Exponential backoff with full jitter: attempt n waits a uniformly random
// time in [0, min(maxDelayMs, initialDelayMs * 2^(n-1))).

export interface BackoffOptions {
  initialDelayMs: number
  maxDelayMs: number
}

export function backoffCeiling(attempt: number, opts: BackoffOptions): number {
  const exp = Math.min(Math.max(attempt, 1) - 1, 52)
  return Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** exp)
}

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, opts))
}
