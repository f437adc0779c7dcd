// When to reconnect after the connection dropped, how long to wait, and when
// to give up. Pure policy: the client asks, this answers.
import { backoffDelay } from './backoff.js'
import { HostError } from './errors.js'

export interface ReconnectOptions {
  /** Default true. */
  enabled?: boolean
  /** Backoff ceiling of the first attempt; default 100 ms. */
  initialDelayMs?: number
  /** Largest backoff ceiling; default 10 000 ms. */
  maxDelayMs?: number
  /** Attempts per disconnection before giving up; default Infinity. */
  maxAttempts?: number
}

const DEFAULT_INITIAL_DELAY_MS = 100
const DEFAULT_MAX_DELAY_MS = 10_000
/** Close codes that blame what the client sent: protocol error, unsupported data, invalid payload, policy, too big. */
const CLIENT_FAULT_CLOSE_CODES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009])
/** After this many client-fault closes in a row (no successful reply in between), stop reconnecting. */
const MAX_CLIENT_FAULT_CLOSES = 3

export class ReconnectPolicy {
  readonly options: Required<ReconnectOptions>
  #faultCloses = 0

  constructor(opts: ReconnectOptions = {}) {
    this.options = {
      enabled: opts.enabled ?? true,
      initialDelayMs: opts.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS,
      maxDelayMs: opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      maxAttempts: opts.maxAttempts ?? Infinity,
    }
  }

  /** A reply came: the host accepts what we send, so earlier faults no longer count. */
  succeeded(): void {
    this.#faultCloses = 0
  }

  /** After an unexpected close: undefined to reconnect, else why the client stops. */
  afterClose(code: number): HostError | undefined {
    if (CLIENT_FAULT_CLOSE_CODES.has(code)) this.#faultCloses++
    if (!this.options.enabled) return new HostError('disconnected', `connection closed (${code}) and reconnect is disabled`, { retryable: false })
    if (this.#faultCloses >= MAX_CLIENT_FAULT_CLOSES) {
      return new HostError('disconnected', `the host closed the connection with code ${code} ${this.#faultCloses} times in a row; not reconnecting`, { retryable: false })
    }
    return undefined
  }

  /** Before attempt `attempt` (from 1): the wait, or why the client gives up. */
  attempt(attempt: number): { delayMs: number } | { giveUp: HostError } {
    if (attempt > this.options.maxAttempts) {
      return { giveUp: new HostError('disconnected', `gave up reconnecting after ${attempt - 1} attempts`, { retryable: false }) }
    }
    return { delayMs: backoffDelay(attempt, this.options) }
  }
}
