// Side-by-side timing: candidates take turns in blocks (the order rotating
// from block to block), so machine noise hits them alike; each block gives
// each candidate a p50 and a p99, and the report is the median over blocks.
import { median, percentile } from '../lib/stats.js'

export type Candidate = () => unknown

export interface BlockStats {
  p50: number[]
  p99: number[]
}

/** Runs `perBlock` calls of each candidate per block; returns per-block p50/p99 in µs, by candidate name. */
export async function alternate(cands: Record<string, Candidate>, blocks: number, perBlock: number, warmup: number): Promise<Record<string, BlockStats>> {
  const names = Object.keys(cands)
  for (const n of names) for (let i = 0; i < warmup; i++) await cands[n]!()
  const out: Record<string, BlockStats> = Object.fromEntries(names.map((n) => [n, { p50: [], p99: [] }]))
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(b + j) % names.length]!
      const fn = cands[name]!
      const lat: number[] = []
      for (let i = 0; i < perBlock; i++) {
        const t0 = performance.now()
        await fn()
        lat.push((performance.now() - t0) * 1000)
      }
      lat.sort((x, y) => x - y)
      out[name]!.p50.push(percentile(lat, 50))
      out[name]!.p99.push(percentile(lat, 99))
    }
  }
  return out
}

/** Median over blocks of a per-block ratio (or any per-block combination). */
export function medianOf(blocks: number, f: (b: number) => number): number {
  return median(Array.from({ length: blocks }, (_, b) => f(b)))
}
