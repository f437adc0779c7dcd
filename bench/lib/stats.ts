// Small statistics for benchmark reports.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

export function summarize(values: readonly number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean, n: sorted.length }
}

/** |found ∩ truth| / |truth|, the usual recall@k. */
export function recall(found: readonly string[], truth: readonly string[]): number {
  if (truth.length === 0) return 1
  const t = new Set(truth)
  let hit = 0
  for (const id of found) if (t.has(id)) hit++
  return hit / truth.length
}
