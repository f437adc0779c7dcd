// Messages between the main thread (hnsw-pool.ts) and hnsw-worker.ts. Vectors
// travel as transferred Float32Arrays; labels are uint32, unique per index.

export type ToWorker =
  | { op: 'init'; key: number; dims: number; m: number; efConstruction: number; capacity: number }
  /** Labels arrive in increasing order, so "added up to label N" is one number. */
  | { op: 'add'; key: number; labels: Uint32Array; vectors: Float32Array }
  | { op: 'del'; key: number; labels: Uint32Array }
  | { op: 'search'; key: number; req: number; query: Float32Array; k: number; ef: number }
  | { op: 'drop'; key: number }
  /** Exit between slices: terminate() landing inside hnswlib's addPoint aborts the whole process. */
  | { op: 'stop' }

export type FromWorker =
  /** Every label below `upTo` that was sent is in the index (or was deleted before it got there). */
  | { op: 'progress'; key: number; upTo: number; size: number }
  | { op: 'result'; req: number; labels: number[] }
  | { op: 'result'; req: number; error: string }
  | { op: 'rebuilt'; key: number; size: number; ms: number }
  | { op: 'failed'; key: number; message: string }
