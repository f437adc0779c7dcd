// Opens a large encrypted_message frame from its raw bytes, so that a worker
// thread, not the event loop, pays for the UTF-8 decode, the JSON parse of a
// multi-megabyte envelope, the base64 decode and the secretbox. It only reads
// the envelope fields it needs; every decision about what a failure means
// (and in which order the checks count) stays with the dispatcher.
import { isRequestId, decodeBase64, decodeUtf8, NONCE_BYTES } from '@rag-session-host/client/shared'
import { openBase64 } from './secretbox.js'

export type Preopened<P = never> =
  /** The frame is an encrypted_message for `sessionId` whose box opened with `key`. */
  | { kind: 'opened'; id: string; nonce: Uint8Array; plaintext: Uint8Array }
  /** The same, its plaintext read by the caller's `prepare` here too (the plaintext itself is not kept). */
  | { kind: 'prepared'; id: string; nonce: Uint8Array; prepared: P }
  /** Such a frame whose box did not open (or whose ciphertext is not base64). */
  | { kind: 'unopened'; id: string; reason: 'malformed' | 'failed' }
  /** Any other JSON object: the dispatcher handles it as usual. */
  | { kind: 'frame'; frame: Record<string, unknown> }
  /** Not UTF-8, not JSON, or not an object. */
  | { kind: 'invalid'; reason: 'utf8' | 'json' | 'object' }

/** `prepare`, when given, reads an opened plaintext on the same thread (the dispatcher's parse and checks: dispatch/plaintext.ts). */
export function preopenFrame<P = never>(bytes: Uint8Array, sessionId: string, key: Uint8Array, prepare?: (plaintext: Uint8Array) => P): Preopened<P> {
  const text = decodeUtf8(bytes)
  if (text === undefined) return { kind: 'invalid', reason: 'utf8' }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'invalid', reason: 'json' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid', reason: 'object' }
  const frame = value as Record<string, unknown>
  const nonce = decodeBase64(frame.nonce, NONCE_BYTES)
  const ours = frame.type === 'encrypted_message' && isRequestId(frame.id) && frame.session_id === sessionId && nonce !== undefined && typeof frame.ciphertext === 'string'
  if (!ours) return { kind: 'frame', frame }
  const opened = openBase64(frame.ciphertext as string, nonce, key)
  const id = frame.id as string
  if (!opened.ok) return { kind: 'unopened', id, reason: opened.reason }
  return prepare ? { kind: 'prepared', id, nonce, prepared: prepare(opened.plaintext) } : { kind: 'opened', id, nonce, plaintext: opened.plaintext }
}
