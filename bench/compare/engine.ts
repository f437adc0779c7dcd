// The engine floor: the same vectors in hnswlib-node in this process, built
// the way the host builds its graphs (src/vectors/hnsw-graphs.ts: 'ip' on
// unit-length float32 vectors, M and efConstruction from the config, seed
// 100, efSearch raised to k), searched with the same queries.
import hnswlib from 'hnswlib-node'

export interface EngineParams {
  m: number
  efConstruction: number
  efSearch: number
}

export interface Engine {
  buildMs: number
  /** One k-NN search, as the host's worker runs it (number array in, labels out). */
  search(query: Float32Array, k: number): number[]
}

/** Unit length as float32, as the host stores vectors (validate.ts). */
export function normalized(v: Float32Array): Float32Array {
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  return v.map((x) => x / n)
}

export function buildEngine(data: Float32Array, dims: number, p: EngineParams): Engine {
  const count = data.length / dims
  const t0 = performance.now()
  const g = new hnswlib.HierarchicalNSW('ip', dims)
  g.initIndex(Math.max(16, count), p.m, p.efConstruction, 100)
  for (let i = 0; i < count; i++) g.addPoint(Array.from(normalized(data.subarray(i * dims, (i + 1) * dims))), i)
  const buildMs = performance.now() - t0
  return {
    buildMs,
    search(query, k) {
      g.setEf(Math.max(p.efSearch, k))
      return g.searchKnn(Array.from(normalized(query)), k).neighbors
    },
  }
}
