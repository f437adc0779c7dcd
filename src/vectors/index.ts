// Per-session vector index: exact scan on the main thread, HNSW (hnswlib-node)
// built off the event loop in a worker, which holds the only copy of the rows
// it covers where a journal holds them all. See docs/VECTORS.md.
export { VectorEngine, type VectorEngineOptions, type VectorEngineStats } from './engine.js'
export type { SessionVectors, VectorBatch } from './session-vectors.js'
export type { StoreView } from './store.js'
export { isAlive } from './store.js'
export { releasedRows, RowsUnavailable } from './released-rows.js'
export { CHUNK_MASK, CHUNK_SHIFT } from './segment.js'
export type { IndexState } from './index-lifecycle.js'
export type { VectorLimits, IndexTuning, UploadResult, SearchResult, DeleteResult, ClearResult, Metadata } from './types.js'
export { compileFilter, type Predicate } from './filter.js'
