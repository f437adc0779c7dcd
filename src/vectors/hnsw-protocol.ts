// Messages between the main thread (hnsw-pool.ts) and hnsw-worker.ts. Vectors
// travel as transferred Float32Arrays; labels are uint32, unique per index.
// `index` names one graph (a handle the pool hands out); `id` is the request id
// of a search, which worker-rpc.ts matches with its result.

export type ToWorker =
  | { op: 'init'; index: number; dims: number; m: number; efConstruction: number; capacity: number }
  /** Labels arrive in increasing order, so "added up to label N" is one number. */
  | { op: 'add'; index: number; labels: Uint32Array; vectors: Float32Array }
  | { op: 'del'; index: number; labels: Uint32Array }
  | { op: 'search'; id: number; index: number; query: Float32Array; k: number; ef: number }
  /** Reads points back (the graph holds the only copy of a released row, store.ts). */
  | { op: 'points'; id: number; index: number; labels: Uint32Array }
  | { op: 'drop'; index: number }
  /** Exit between slices: terminate() landing inside hnswlib's addPoint aborts the whole process. */
  | { op: 'stop' }

export type SearchRequest = Extract<ToWorker, { op: 'search' | 'points' }>
/** What a GraphSet (hnsw-graphs.ts) handles; 'stop' is the thread's own. */
export type GraphCommand = Exclude<ToWorker, { op: 'stop' }>

/** Points read back by label, packed: `found[i]` is 0 where label i is not in the graph (deleted meanwhile); its row is then zeros. */
export interface PointRows {
  vectors: Float32Array
  found: Uint8Array
}

/** A search's candidates, best first, with their scores (1 - hnswlib's inner-product distance). */
export type SearchReply =
  { op: 'result'; id: number; labels: number[]; scores: number[] } | ({ op: 'points'; id: number } & PointRows) | { op: 'result'; id: number; error: string }

/** Unsolicited reports about one index. */
export type IndexReport =
  /** Every label below `upTo` that was sent is in the index (or was deleted before it got there). */
  { op: 'progress'; index: number; upTo: number; size: number } | { op: 'rebuilt'; index: number; size: number; ms: number } | { op: 'failed'; index: number; message: string }

export type FromWorker = SearchReply | IndexReport
