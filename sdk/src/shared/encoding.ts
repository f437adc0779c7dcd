// Standard base64 with padding (the contract's encoding, PROTOCOL.md §1) and
// strict UTF-8, without Node imports. Node's Buffer is used when it is there:
// it is the fastest codec we have, and the host decodes megabyte ciphertexts.
// Its decoder is lenient (it skips junk and accepts base64url), so a decode is
// only accepted when encoding the bytes again gives back the very same text;
// that round trip is ~40x faster than a validating regex.

interface NodeBufferLike {
  from(value: string, encoding: 'base64'): Uint8Array & { toString(encoding: 'base64'): string }
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64' | 'base64url'): string }
  byteLength(text: string, encoding: 'utf8'): number
}

const NodeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer

/** Decodes strict base64; undefined for anything else (or a wrong length when `bytes` is given). */
export function decodeBase64(value: unknown, bytes?: number): Uint8Array | undefined {
  if (typeof value !== 'string' || value.length % 4 !== 0) return undefined
  if (bytes !== undefined && value.length !== Math.ceil(bytes / 3) * 4) return undefined
  let out: Uint8Array
  if (NodeBuffer) {
    const buf = NodeBuffer.from(value, 'base64')
    out = new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  } else {
    let text: string
    try {
      text = atob(value)
    } catch {
      return undefined
    }
    out = new Uint8Array(text.length)
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  }
  if (bytes !== undefined && out.length !== bytes) return undefined
  if (encodeBase64(out) !== value) return undefined
  return out
}

export function encodeBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let text = ''
  // Chunks keep String.fromCharCode's argument list well under engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

/** base64url without padding: how JWK carries key material. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

/** The inverse of encodeBase64Url. */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  const std = text.replace(/-/g, '+').replace(/_/g, '/')
  return decodeBase64(std + '='.repeat((4 - (std.length % 4)) % 4))
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()

/** UTF-8 decode that refuses invalid sequences instead of inventing U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    return undefined
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text)
}

/** UTF-8 bytes of `text`, without encoding it where the runtime can count. */
export function utf8Length(text: string): number {
  return NodeBuffer ? NodeBuffer.byteLength(text, 'utf8') : utf8Encoder.encode(text).length
}
