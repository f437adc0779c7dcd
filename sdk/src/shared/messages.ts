// The shapes of protocol v1 (docs/PROTOCOL.md) as TypeScript types and
// constants, shared by host and SDK; nothing here runs crypto or touches a socket.
import type { WireError } from './error-codes.js'

export const PROTOCOL_VERSION = 1
export const WS_PATH = '/v1/ws'
export const HOST_INFO_PATH = '/v1/host'

/** Full match; in JavaScript `$` without the m flag does not accept a trailing newline. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
export const MAX_REQUEST_ID_LENGTH = 128
export const MAX_VECTOR_ID_LENGTH = 256

export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value)
}

export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_REQUEST_ID_LENGTH
}

/** The text an init signature covers (PROTOCOL.md §2). */
export function initSignatureText(sessionId: string, ephPubBase64: string, ts: number): string {
  return `session-init-v1|${sessionId}|${ephPubBase64}|${ts}`
}

// ---- frames on the wire (plaintext JSON) ----

export interface SessionInitFrame {
  type: 'encrypted_session_init'
  id: string
  session_id: string
  eph_pub: string
  nonce: string
  ciphertext: string
}

export interface SessionInitPayload {
  session_key: string
  client_pub: string
  ts: number
  sig: string
  new_attempt?: boolean
}

export interface EncryptedFrame {
  type: 'encrypted_message'
  id: string | null
  session_id: string
  nonce: string
  ciphertext: string
}

export type SessionInitAck =
  { type: 'session_init_ack'; id: string | null; ok: true; nonce: string; ciphertext: string } | { type: 'session_init_ack'; id: string | null; ok: false; error: WireError }

export interface PlainErrorFrame {
  type: 'error'
  id: string | null
  ok: false
  error: WireError
}

export type SessionStatus = 'active' | 'detached' | 'abandoned' | 'ended'

/** Sealed inside the success ack, so the client learns the host holds K. */
export interface SessionInitInfo {
  created: boolean
  attempt: number
  status: SessionStatus
  vectors: number
  dims: number | null
  history: number
  history_total: number
}

export type NoticeStatus = 'ended' | 'evicted' | 'shutting_down'
export interface SessionStatusNotice {
  type: 'session_status'
  status: NoticeStatus
  reason: string
}

// ---- operations (the plaintext inside encrypted_message) ----

export type Role = 'user' | 'assistant' | 'system'
export const ROLES: readonly Role[] = ['user', 'assistant', 'system']

export type Metadata = Record<string, unknown>

export interface VectorItem {
  id: string
  vector?: number[]
  vector_b64?: string
  metadata?: Metadata | null
}

export type FilterValue = unknown
export type Filter = Record<string, unknown>

export interface HistoryMessage {
  seq: number
  attempt: number
  role: Role
  content: string
  ts: number
}

export interface Rejection {
  id: string | null
  code: string
  message: string
}

export interface SearchHit {
  id: string
  score: number
  metadata: Metadata
}

/** Request fields and success-reply fields of every operation. */
export interface Operations {
  uploadVectors: {
    request: { vectors: VectorItem[]; replace?: boolean }
    response: { uploaded: number; rejected: Rejection[]; total: number; dims: number | null }
  }
  searchVectors: {
    request: { vector?: number[]; vector_b64?: string; k?: number; threshold?: number; filter?: Filter }
    response: { results: SearchHit[]; total: number; exact: boolean }
  }
  deleteVectors: { request: { ids: string[] }; response: { deleted: number; total: number } }
  clearVectors: { request: Record<string, never>; response: { deleted: number } }
  appendMessage: { request: { role: Role; content: string }; response: { seq: number; attempt: number } }
  getHistory: {
    request: { attempt?: 'current' | 'all' | number; limit?: number; before_seq?: number }
    response: { attempt: number; messages: HistoryMessage[] }
  }
  sessionInfo: {
    request: Record<string, never>
    response: {
      session_id: string
      status: SessionStatus
      attempt: number
      created_at: number
      last_active_at: number
      vectors: number
      dims: number | null
      history: number
      history_total: number
      connections: number
      /** Host additions (allowed by the contract). */
      seq?: number
      auto_recovered?: boolean
      vector_bytes?: number
    }
  }
  endSession: { request: Record<string, never>; response: { status: 'ended' } }
  ping: { request: Record<string, never>; response: { ts: number } }
}

export type OperationName = keyof Operations

export type OperationRequest<N extends OperationName> = { type: N; id: string } & Operations[N]['request']
export type OperationResponse<N extends OperationName> =
  ({ type: `${N}Response`; id: string; ok: true } & Operations[N]['response']) | { type: `${N}Response`; id: string; ok: false; error: WireError }

export interface HostInfo {
  protocol: number
  version: string
  public_key: string
  limits: {
    max_sessions: number
    max_frame_bytes: number
    max_batch: number
    max_vectors_per_session: number
    max_dims: number
    max_k: number
    max_metadata_bytes: number
    max_message_chars: number
    [extra: string]: number
  }
}
