// Every frame the host sends is built here, so none can leave without the
// fields the contract requires (type, id, ok, and a typed error).
import { toWireError, type WireError } from './errors.js'
import type { NoticeStatus, PlainErrorFrame, SessionInitAck, SessionStatusNotice } from '@rag-session-host/client/shared'

export function plainError(id: string | null, err: unknown): PlainErrorFrame {
  return { type: 'error', id, ok: false, error: toWireError(err) }
}

export function initRejected(id: string | null, err: unknown): SessionInitAck {
  return { type: 'session_init_ack', id, ok: false, error: toWireError(err) }
}

export function initAccepted(id: string, sealed: { nonce: string; ciphertext: string }): SessionInitAck {
  return { type: 'session_init_ack', id, ok: true, nonce: sealed.nonce, ciphertext: sealed.ciphertext }
}

export interface OperationReply {
  type: string
  id: string
  ok: boolean
  error?: WireError
  [field: string]: unknown
}

export function responseType(requestType: string): string {
  return `${requestType}Response`
}

export function operationSucceeded(requestType: string, id: string, fields: object): OperationReply {
  // Fields first, so an operation result can never overwrite type, id or ok.
  return { ...fields, type: responseType(requestType), id, ok: true }
}

export function operationFailed(requestType: string, id: string, err: unknown): OperationReply {
  return { type: responseType(requestType), id, ok: false, error: toWireError(err) }
}

export function statusNotice(status: NoticeStatus, reason: string): SessionStatusNotice {
  return { type: 'session_status', status, reason }
}

export function sealedEnvelope(id: string | null, sessionId: string, sealed: { nonce: string; ciphertext: string }) {
  return { type: 'encrypted_message' as const, id, session_id: sessionId, nonce: sealed.nonce, ciphertext: sealed.ciphertext }
}
