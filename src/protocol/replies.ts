// Every frame the host sends is built here, so none can leave without the
// fields the contract requires (type, id, ok, and a typed error).
import { encodeUtf8, MAC_BYTES } from '@rag-session-host/client/shared'
import { limitExceeded, toWireError, type WireError } from './errors.js'
import type { EncryptedFrame, NoticeStatus, PlainErrorFrame, SessionInitAck, SessionStatusNotice } from '@rag-session-host/client/shared'

export interface Sealed {
  nonce: string
  ciphertext: string
}

export function plainError(id: string | null, err: unknown): PlainErrorFrame {
  return { type: 'error', id, ok: false, error: toWireError(err) }
}

export function initRejected(id: string | null, err: unknown): SessionInitAck {
  return { type: 'session_init_ack', id, ok: false, error: toWireError(err) }
}

export function initAccepted(id: string, sealed: Sealed): SessionInitAck {
  return { type: 'session_init_ack', id, ok: true, nonce: sealed.nonce, ciphertext: sealed.ciphertext }
}

export interface OperationReply {
  type: string
  id: string
  ok: boolean
  error?: WireError
  [field: string]: unknown
}

function responseType(requestType: string): string {
  return `${requestType}Response`
}

export function operationSucceeded(requestType: string, id: string, fields: object): OperationReply {
  // Fields first, so an operation result can never overwrite type, id or ok.
  return { ...fields, type: responseType(requestType), id, ok: true }
}

export function operationFailed(requestType: string, id: string, err: unknown): OperationReply {
  return { type: responseType(requestType), id, ok: false, error: toWireError(err) }
}

/** Upper bound of the sealed envelope's size for a plaintext of `bytes`: base64 of (plaintext + MAC), plus the envelope's fields. */
function sealedFrameBytes(bytes: number): number {
  return Math.ceil(((bytes + MAC_BYTES) * 4) / 3) + 512
}

/**
 * The reply as the UTF-8 JSON that will be sealed. A reply whose sealed frame
 * would exceed `maxFrameBytes` (the client could not receive it) is replaced
 * by a typed `limit_exceeded` (PROTOCOL.md §3.4).
 */
export function encodeOperationReply(requestType: string, reply: OperationReply, maxFrameBytes: number): { reply: OperationReply; plaintext: Uint8Array } {
  const plaintext = encodeUtf8(JSON.stringify(reply))
  if (sealedFrameBytes(plaintext.length) <= maxFrameBytes) return { reply, plaintext }
  const limited = operationFailed(requestType, reply.id, limitExceeded('the reply would exceed max_frame_bytes; ask for less (limit, before_seq, k)'))
  return { reply: limited, plaintext: encodeUtf8(JSON.stringify(limited)) }
}

// Notices (§4.9): one builder each, so their reasons are written in one place.
function statusNotice(status: NoticeStatus, reason: string): SessionStatusNotice {
  return { type: 'session_status', status, reason }
}

export function endedNotice(by: 'client' | 'operator' = 'client'): SessionStatusNotice {
  return statusNotice('ended', by === 'client' ? 'ended_by_client' : 'ended_by_operator')
}

const EVICTED_REASONS = { retention: 'retention', reclaimed: 'reclaimed', admin: 'evicted_by_operator', reset: 'host_reset', moved: 'moved' } as const

export function evictedNotice(reason: keyof typeof EVICTED_REASONS): SessionStatusNotice {
  return statusNotice('evicted', EVICTED_REASONS[reason])
}

export function shuttingDownNotice(): SessionStatusNotice {
  return statusNotice('shutting_down', 'host is shutting down')
}

/** A sealed reply (`id` of its request) or notice (`id: null`), §3.4. */
export function sealedEnvelope(id: string | null, sessionId: string, sealed: Sealed): EncryptedFrame {
  return { type: 'encrypted_message', id, session_id: sessionId, nonce: sealed.nonce, ciphertext: sealed.ciphertext }
}
