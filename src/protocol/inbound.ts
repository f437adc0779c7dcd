// Parsing and shape checks of inbound frames and of the init payload. Each
// check throws ProtocolError('bad_request') with a message that names the
// field; none of them echoes a value back.
import { badRequest } from './errors.js'
import { decodeBase64, isRequestId, isSessionId, NONCE_BYTES, type JsonObject, type SessionInitPayload, isObject } from '@rag-session-host/client/shared'

export { isObject, type JsonObject } from '@rag-session-host/client/shared'

/** JSON.parse that reports failure instead of throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/** The frame's request id when it has a valid one, else null (what error replies carry). */
export function frameId(frame: JsonObject): string | null {
  return isRequestId(frame.id) ? frame.id : null
}

export function requireRequestId(frame: JsonObject): string {
  if (!isRequestId(frame.id)) throw badRequest('id must be a string of 1 to 128 characters')
  return frame.id
}

export function requireSessionId(frame: JsonObject): string {
  if (!isSessionId(frame.session_id)) throw badRequest('session_id must match ^[A-Za-z0-9._:-]{1,128}$')
  return frame.session_id
}

export function requireString(frame: JsonObject, field: string): string {
  const v = frame[field]
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`)
  return v
}

/** The fields of an encrypted_message envelope (PROTOCOL.md §3.1), checked in the order of §3.3. The ciphertext's base64 is checked when it is opened. */
export interface Envelope {
  requestId: string
  sessionId: string
  nonce: Uint8Array
  ciphertext: string
}

export function parseEnvelope(frame: JsonObject): Envelope {
  const requestId = requireRequestId(frame)
  const sessionId = requireSessionId(frame)
  const nonce = decodeBase64(frame.nonce, NONCE_BYTES)
  if (!nonce) throw badRequest('nonce must be base64 of 24 bytes')
  const ciphertext = frame.ciphertext
  if (typeof ciphertext !== 'string') throw badRequest('ciphertext must be base64')
  return { requestId, sessionId, nonce, ciphertext }
}

/** Shape of the decrypted init payload (§2.2, check 3). */
export function parseInitPayload(value: unknown): SessionInitPayload {
  if (!isObject(value)) throw badRequest('init payload must be a JSON object')
  const { session_key, client_pub, ts, sig, new_attempt } = value
  if (typeof session_key !== 'string') throw badRequest('session_key must be a base64 string')
  if (typeof client_pub !== 'string') throw badRequest('client_pub must be a base64 string')
  if (typeof sig !== 'string') throw badRequest('sig must be a base64 string')
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) throw badRequest('ts must be an integer (ms since the Unix epoch)')
  if (new_attempt !== undefined && new_attempt !== null && typeof new_attempt !== 'boolean') throw badRequest('new_attempt must be a boolean')
  return { session_key, client_pub, ts, sig, new_attempt: new_attempt === true }
}
