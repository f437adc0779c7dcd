// bench:load's numbers: latencies per operation, errors by code, timeouts.

/** Nearest-rank percentile of an ascending array; NaN when it is empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

export interface LatencySummary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Summary of latencies (any order; not modified). Empty: count 0 and NaN elsewhere. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort()
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  }
}

export const OPERATIONS = ['connect', 'init', 'uploadVectors', 'searchVectors', 'searchVectors+filter', 'appendMessage', 'getHistory', 'reconnect', 'endSession'] as const
export type Operation = (typeof OPERATIONS)[number]

export interface OperationStats {
  /** Round trips of the requests that succeeded, ms. */
  latencies: number[]
  errorsByCode: Record<string, number>
  timeouts: number
}

/** Everything the clients measured, per operation. */
export class Recorder {
  readonly ops = new Map<Operation, OperationStats>(OPERATIONS.map((op) => [op, { latencies: [], errorsByCode: {}, timeouts: 0 }]))
  errors = 0
  timeouts = 0
  /** Successful operations, all kinds (for the progress line). */
  done = 0

  ok(op: Operation, ms: number): void {
    this.ops.get(op)!.latencies.push(ms)
    this.done++
  }

  /** A failure by its code; `timeout` counts as a timeout, not an error. */
  fail(op: Operation, code: string): void {
    const s = this.ops.get(op)!
    if (code === 'timeout') {
      s.timeouts++
      this.timeouts++
    } else {
      s.errorsByCode[code] = (s.errorsByCode[code] ?? 0) + 1
      this.errors++
    }
  }
}
