// Reading a request's plaintext: UTF-8, JSON, and for an upload the
// stateless checks of its items (vectors/item-check.ts). Inline for small
// frames; on the frame worker for large ones (frame-worker.ts),
// where it keeps a multi-megabyte parse and the vectors' decoding off the
// event loop. The result is plain data, so it crosses threads by structured
// clone, the vectors in one transferable array.
import { decodeUtf8 } from '@rag-session-host/client/shared'
import { isObject, parseJson } from '../protocol/inbound.js'
import { checkItems, type CheckedItems, type ItemLimits } from '../vectors/item-check.js'

export type PreparedPlaintext =
  | { ok: false }
  /** `items`: an uploadVectors' items, checked; its `vectors` field is then left out of `value`. */
  | { ok: true; value: unknown; items?: CheckedItems }

export interface PlaintextLimits extends ItemLimits {
  readonly maxBatch: number
}

export function parsePlaintext(bytes: Uint8Array): PreparedPlaintext {
  const text = decodeUtf8(bytes)
  return text === undefined ? { ok: false } : parseJson(text)
}

export function preparePlaintext(bytes: Uint8Array, limits: PlaintextLimits): PreparedPlaintext {
  const parsed = parsePlaintext(bytes)
  if (!parsed.ok) return parsed
  const value = parsed.value
  // Only a well-formed batch is checked here; any other shape keeps its
  // `vectors` and gets its error where the operation is handled.
  if (!isObject(value) || value.type !== 'uploadVectors' || !Array.isArray(value.vectors) || value.vectors.length > limits.maxBatch) return parsed
  const { vectors, ...rest } = value
  return { ok: true, value: rest, items: checkItems(vectors as unknown[], limits) }
}

/** Transferables of a prepared plaintext (the packed vectors). */
export function transferablesOf(p: PreparedPlaintext): ArrayBuffer[] {
  return p.ok && p.items ? [p.items.units.buffer as ArrayBuffer] : []
}
