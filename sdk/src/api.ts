// Everything @rag-session-host/client exports, the same in Node and browsers.
// The entry points (index.node.ts, index.browser.ts) install their platform,
// then re-export this.
export {
  SessionClient,
  type ConnectOptions,
  type RequestOptions,
  type UploadVector,
  type VectorInput,
  type SearchOptions,
  type DisconnectInfo,
  type ReconnectingInfo,
  type SessionClientEvents,
} from './session-client.js'
export type { ReconnectOptions } from './reconnect-policy.js'
export { HostError, isHostError, isRetryableError, retryDelayMs, defaultRetryable, type HostErrorCode, type ClientErrorCode, type HostErrorOptions } from './errors.js'
export {
  generateIdentity,
  identityFromSecretKey,
  signText,
  boxPayload,
  buildSessionInit,
  createSessionInit,
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
export { endpoints, routedWsUrl, type Endpoints } from './endpoints.js'
export { fetchHostInfo, parseHostInfo } from './host-info.js'
export { Emitter } from './emitter.js'
export type { InitCrypto, FrameCrypto, Ephemeral, Secretbox } from './crypto/types.js'
export { initSignatureText, isSessionId, PROTOCOL_VERSION, ERROR_CODES } from './shared/index.js'
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
  ErrorCode,
  WireError,
} from './shared/index.js'
