// Public shapes of the vector index: limits, tuning, and the success fields of
// the four vector operations (PROTOCOL.md §4.1-4.3; `Operations` of the SDK's shared module).
import type { Operations } from '@rag-session-host/client/shared'

export interface VectorLimits {
  maxBatch: number
  maxVectorsPerSession: number
  maxDims: number
  maxK: number
  maxMetadataBytes: number
}

export interface IndexTuning {
  /** At or below this many vectors a session is searched exactly only. */
  exactSearchMaxVectors: number
  hnswM: number
  hnswEfConstruction: number
  hnswEfSearch: number
}

export type UploadResult = Operations['uploadVectors']['response']
export type SearchResult = Operations['searchVectors']['response']
export type DeleteResult = Operations['deleteVectors']['response']
export type ClearResult = Operations['clearVectors']['response']
export type Metadata = Record<string, unknown>
