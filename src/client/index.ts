// rag-session-host/client: the client SDK for protocol v1.
export {
  SessionClient,
  type ConnectOptions,
  type ReconnectOptions,
  type RequestOptions,
  type UploadVector,
  type VectorInput,
  type SearchOptions,
  type DisconnectInfo,
  type ReconnectingInfo,
  type SessionClientEvents,
} from './session-client.js'
export {
  HostError,
  isHostError,
  isRetryableError,
  retryDelayMs,
  defaultRetryable,
  type HostErrorCode,
  type ClientErrorCode,
  type HostErrorOptions,
} from './errors.js'
export {
  generateIdentity,
  identityFromSecretKey,
  signText,
  boxPayload,
  buildSessionInit,
  openInitAck,
  sealJson,
  sealRequest,
  openSealed,
  type Identity,
  type BoxKeyPair,
  type BuildSessionInitOptions,
  type BuiltSessionInit,
  type SealRequestOptions,
} from './frames.js'
export { encodeVectorBase64, decodeVectorBase64 } from './vector-codec.js'
export { backoffDelay, backoffCeiling, type BackoffOptions } from './backoff.js'
export { endpoints, type Endpoints } from './endpoints.js'
export { fetchHostInfo, parseHostInfo } from './host-info.js'
export { initSignatureText, isSessionId, PROTOCOL_VERSION } from '../protocol/messages.js'
export type {
  HostInfo,
  SessionInitInfo,
  SessionStatusNotice,
  SessionStatus,
  NoticeStatus,
  Operations,
  OperationName,
  Role,
  Metadata,
  Filter,
  VectorItem,
  SearchHit,
  HistoryMessage,
  Rejection,
  EncryptedFrame,
  SessionInitFrame,
  SessionInitPayload,
  SessionInitAck,
  PlainErrorFrame,
} from '../protocol/messages.js'
export type { ErrorCode, WireError } from '../protocol/errors.js'
