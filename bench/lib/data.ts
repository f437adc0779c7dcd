// Clustered synthetic embeddings: a seeded mixture of Gaussians on the unit
// sphere, which is closer to real sentence embeddings than uniform noise (and
// harder for HNSW: neighbours crowd inside clusters).
import { gaussian, rng } from './rng.js'

export interface ClusteredOptions {
  count: number
  dims: number
  clusters?: number
  /** Spread of points around their centre, relative to the centre's length (1: clusters overlap). */
  spread?: number
  seed?: number
}

export interface Clustered {
  /** count x dims, row-major. */
  data: Float32Array
  /** Cluster of each row. */
  cluster: Uint16Array
  /** Draws query vectors from the same distribution (fresh points, not stored ones). */
  query(): Float32Array
}

export function clustered(opts: ClusteredOptions): Clustered {
  const { count, dims } = opts
  const clusters = opts.clusters ?? Math.max(4, Math.round(Math.sqrt(count) / 2))
  const spread = opts.spread ?? 1
  const u = rng(opts.seed ?? 42)
  const g = gaussian(u)
  const centres = new Float32Array(clusters * dims)
  for (let c = 0; c < clusters; c++) unit(centres, c * dims, dims, g)
  const sigma = spread / Math.sqrt(dims)
  const point = (out: Float32Array, offset: number, c: number): void => {
    for (let j = 0; j < dims; j++) out[offset + j] = centres[c * dims + j]! + sigma * g()
  }
  const data = new Float32Array(count * dims)
  const cluster = new Uint16Array(count)
  for (let i = 0; i < count; i++) {
    const c = Math.floor(u() * clusters)
    cluster[i] = c
    point(data, i * dims, c)
  }
  return {
    data,
    cluster,
    query() {
      const q = new Float32Array(dims)
      point(q, 0, Math.floor(u() * clusters))
      return q
    },
  }
}

function unit(out: Float32Array, offset: number, dims: number, g: () => number): void {
  let n = 0
  for (let j = 0; j < dims; j++) {
    const x = g()
    out[offset + j] = x
    n += x * x
  }
  n = Math.sqrt(n)
  for (let j = 0; j < dims; j++) out[offset + j] = out[offset + j]! / n
}

/** Row i as a plain number array (the JSON `vector` form). */
export function row(data: Float32Array, dims: number, i: number): number[] {
  return Array.from(data.subarray(i * dims, (i + 1) * dims))
}
