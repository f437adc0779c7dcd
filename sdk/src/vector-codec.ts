// `vector_b64` (PROTOCOL.md §4): base64 of little-endian float32 values.
import { decodeBase64, encodeBase64 } from './shared/encoding.js'

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Encodes a vector as `vector_b64`. Numbers are rounded to float32, as the host stores them. */
export function encodeVectorBase64(vector: ArrayLike<number>): string {
  const f32 = vector instanceof Float32Array ? vector : Float32Array.from(vector)
  if (LITTLE_ENDIAN) return encodeBase64(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength))
  const bytes = new Uint8Array(f32.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < f32.length; i++) view.setFloat32(i * 4, f32[i] as number, true)
  return encodeBase64(bytes)
}

/** Decodes `vector_b64`; undefined when it is not strict base64 of a whole number of float32s. */
export function decodeVectorBase64(value: string): Float32Array | undefined {
  const bytes = decodeBase64(value)
  if (!bytes || bytes.length % 4 !== 0) return undefined
  const out = new Float32Array(bytes.length / 4)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}
