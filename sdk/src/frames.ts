// Pure building blocks for protocol v1 frames (PROTOCOL.md §2 and §3). No
// sockets, no state: SessionClient builds on them, and protocol tests use them
// to craft good frames and deliberately bad ones (a reused nonce, a changed
// byte, a signature over the wrong text). Crypto comes from the platform
// (native in Node, tweetnacl in browsers), so all of this is synchronous.
// Every box goes through the platform's secretbox (sodium-native in Node
// when it is installed), which makes the same bytes as tweetnacl.
import nacl from 'tweetnacl'
import type { BoxKeyPair, Ephemeral, InitCrypto } from './crypto/types.js'
import { platform } from './platform.js'
import { decodeBase64, decodeUtf8, encodeBase64, encodeUtf8 } from './shared/encoding.js'
import { isObject } from './shared/json.js'
import { counterNonce, randomBytes, randomNonce } from './shared/nonce.js'
import { KEY_BYTES, NONCE_BYTES } from './shared/sizes.js'
import { initSignatureText, type EncryptedFrame, type SessionInitFrame, type SessionInitInfo, type SessionInitPayload } from './shared/messages.js'
import { HostError } from './errors.js'

export type { BoxKeyPair } from './crypto/types.js'

/** A long-lived Ed25519 client identity, base64 (public 32 bytes, secret 64 bytes as tweetnacl keeps it). */
export interface Identity {
  publicKey: string
  secretKey: string
}

export function generateIdentity(): Identity {
  const kp = nacl.sign.keyPair()
  return { publicKey: encodeBase64(kp.publicKey), secretKey: encodeBase64(kp.secretKey) }
}

/** Rebuilds an identity from its stored 64-byte secret key (base64 or bytes). */
export function identityFromSecretKey(secretKey: string | Uint8Array): Identity {
  const sk = typeof secretKey === 'string' ? decodeBase64(secretKey, nacl.sign.secretKeyLength) : secretKey
  if (!sk || sk.length !== nacl.sign.secretKeyLength) throw new HostError('bad_request', 'an identity secret key is 64 bytes', { retryable: false })
  const kp = nacl.sign.keyPair.fromSecretKey(sk)
  return { publicKey: encodeBase64(kp.publicKey), secretKey: encodeBase64(kp.secretKey) }
}

function identitySecret(identity: Identity): Uint8Array {
  const sk = decodeBase64(identity.secretKey, nacl.sign.secretKeyLength)
  if (!sk) throw new HostError('bad_request', 'identity.secretKey is not base64 of 64 bytes', { retryable: false })
  return sk
}

/** `sig` of the init payload: Ed25519 over the UTF-8 of `text` (normally `initSignatureText(...)`). */
export function signText(text: string, identity: Identity): string {
  return encodeBase64(platform().frameCrypto.signDetached(encodeUtf8(text), identitySecret(identity)))
}

/**
 * `{nonce, ciphertext}` of `box(utf8(JSON(payload)), nonce, hostPublicKey, ephSecretKey)`; `payload` may be raw bytes.
 * Pass the whole ephemeral pair when you have it: native X25519 then skips a scalar multiplication.
 */
export function boxPayload(payload: unknown, hostPublicKey: Uint8Array, eph: Uint8Array | BoxKeyPair, nonce: Uint8Array = randomNonce()): { nonce: string; ciphertext: string } {
  const pair = eph instanceof Uint8Array ? { secretKey: eph, publicKey: nacl.scalarMult.base(eph) } : eph
  const shared = platform().frameCrypto.boxBefore(hostPublicKey, pair)
  return boxWith(payload, shared, nonce)
}

/** Boxes `payload` with a box key (nacl.box.before's) and wipes the key. */
function boxWith(payload: unknown, boxKey: Uint8Array, nonce: Uint8Array): { nonce: string; ciphertext: string } {
  const bytes = payload instanceof Uint8Array ? payload : encodeUtf8(JSON.stringify(payload))
  // nacl.box.after is secretbox under the box key.
  const box = platform().secretbox.seal(bytes, nonce, boxKey)
  boxKey.fill(0)
  return { nonce: encodeBase64(nonce), ciphertext: encodeBase64(box) }
}

export interface BuildSessionInitOptions {
  sessionId: string
  requestId: string
  hostPublicKey: Uint8Array
  identity: Identity
  /** The session key K; a fresh random one by default. */
  sessionKey?: Uint8Array
  newAttempt?: boolean
  /** Milliseconds since the epoch; `Date.now()` by default. */
  ts?: number
  /** The ephemeral box key pair; a fresh one by default. */
  ephKeyPair?: BoxKeyPair
  /** The box nonce; a fresh random one by default. */
  nonce?: Uint8Array
  /** Test hook: sign this text instead of the contract's. */
  signatureText?: string
  /** Test hook: box whatever this returns instead of the payload. */
  transformPayload?: (payload: SessionInitPayload) => unknown
}

export interface BuiltSessionInit {
  frame: SessionInitFrame
  sessionKey: Uint8Array
  /** base64, as in the frame and the signed text. */
  ephPub: string
  ephKeyPair: BoxKeyPair
  payload: SessionInitPayload
}

function initFrame(requestId: string, sessionId: string, ephPub: string, boxed: { nonce: string; ciphertext: string }): SessionInitFrame {
  return { type: 'encrypted_session_init', id: requestId, session_id: sessionId, eph_pub: ephPub, nonce: boxed.nonce, ciphertext: boxed.ciphertext }
}

/** An `encrypted_session_init` frame exactly as PROTOCOL.md §2 describes it. */
export function buildSessionInit(opts: BuildSessionInitOptions): BuiltSessionInit {
  const sessionKey = opts.sessionKey ?? randomBytes(KEY_BYTES)
  const ephKeyPair = opts.ephKeyPair ?? platform().frameCrypto.generateBoxKeyPair()
  const ephPub = encodeBase64(ephKeyPair.publicKey)
  const ts = opts.ts ?? Date.now()
  const payload: SessionInitPayload = {
    session_key: encodeBase64(sessionKey),
    client_pub: opts.identity.publicKey,
    ts,
    sig: signText(opts.signatureText ?? initSignatureText(opts.sessionId, ephPub, ts), opts.identity),
    new_attempt: opts.newAttempt ?? false,
  }
  const boxed = boxPayload(opts.transformPayload ? opts.transformPayload(payload) : payload, opts.hostPublicKey, ephKeyPair, opts.nonce)
  return { frame: initFrame(opts.requestId, opts.sessionId, ephPub, boxed), sessionKey, ephPub, ephKeyPair, payload }
}

/**
 * The same frame built with an InitCrypto, which may be asynchronous (WebCrypto)
 * and keeps the ephemeral secret to itself. What SessionClient sends.
 */
export async function createSessionInit(
  opts: Pick<BuildSessionInitOptions, 'sessionId' | 'requestId' | 'hostPublicKey' | 'identity' | 'newAttempt'>,
  crypto: InitCrypto,
): Promise<{ frame: SessionInitFrame; sessionKey: Uint8Array }> {
  const sessionKey = randomBytes(KEY_BYTES)
  const eph: Ephemeral = await crypto.ephemeral(opts.hostPublicKey)
  const ephPub = encodeBase64(eph.publicKey)
  const ts = Date.now()
  const sig = await crypto.signDetached(encodeUtf8(initSignatureText(opts.sessionId, ephPub, ts)), identitySecret(opts.identity))
  const payload: SessionInitPayload = {
    session_key: encodeBase64(sessionKey),
    client_pub: opts.identity.publicKey,
    ts,
    sig: encodeBase64(sig),
    new_attempt: opts.newAttempt ?? false,
  }
  return { frame: initFrame(opts.requestId, opts.sessionId, ephPub, boxWith(payload, eph.boxKey, randomNonce())), sessionKey }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0

function isInitInfo(value: unknown): value is SessionInitInfo {
  return (
    isObject(value) &&
    typeof value.created === 'boolean' &&
    isCount(value.attempt) &&
    typeof value.status === 'string' &&
    isCount(value.vectors) &&
    (value.dims === null || isCount(value.dims)) &&
    isCount(value.history) &&
    isCount(value.history_total)
  )
}

/**
 * Opens the `ciphertext` of a sealed frame (`{nonce, ciphertext}`) with `key`
 * and parses it. Throws HostError `decrypt_failed` when it does not
 * authenticate, `protocol_error` when it is malformed or not a JSON object.
 */
export function openSealed(frame: unknown, key: Uint8Array): Record<string, unknown> {
  const requestId = isObject(frame) && typeof frame.id === 'string' ? frame.id : undefined
  const bad = (msg: string): HostError => new HostError('protocol_error', msg, { requestId, retryable: false })
  if (!isObject(frame) || typeof frame.ciphertext !== 'string') throw bad('sealed frame without ciphertext')
  const nonce = decodeBase64(frame.nonce, NONCE_BYTES)
  if (!nonce) throw bad('sealed frame with a malformed nonce')
  const box = decodeBase64(frame.ciphertext)
  if (!box) throw bad('sealed frame with malformed base64')
  const plaintext = platform().secretbox.open(box, nonce, key)
  if (!plaintext) throw new HostError('decrypt_failed', 'sealed frame does not open with the session key', { requestId, retryable: false })
  const text = decodeUtf8(plaintext)
  let value: unknown
  try {
    value = text === undefined ? undefined : JSON.parse(text)
  } catch {
    value = undefined
  }
  if (!isObject(value)) throw bad('sealed plaintext is not a JSON object')
  return value
}

/**
 * Checks a `session_init_ack` and opens its sealed info with the session key
 * K. An `ok: false` ack throws its error as a HostError; an ack that does not
 * open with K (the host does not hold K) throws `decrypt_failed`.
 */
export function openInitAck(ack: unknown, sessionKey: Uint8Array): SessionInitInfo {
  const requestId = isObject(ack) && typeof ack.id === 'string' ? ack.id : undefined
  if (!isObject(ack) || ack.type !== 'session_init_ack' || typeof ack.ok !== 'boolean') {
    throw new HostError('protocol_error', 'not a session_init_ack', { requestId, retryable: false })
  }
  if (!ack.ok) throw HostError.fromWire(ack.error, requestId)
  const info = openSealed(ack, sessionKey)
  if (!isInitInfo(info)) throw new HostError('protocol_error', 'session_init_ack info is malformed', { requestId, retryable: false })
  return info
}

/** `{nonce, ciphertext}` of `secretbox(utf8(JSON(value)), nonce, key)`; `value` may be raw bytes. */
export function sealJson(value: unknown, key: Uint8Array, nonce: Uint8Array): { nonce: string; ciphertext: string } {
  const bytes = value instanceof Uint8Array ? value : encodeUtf8(JSON.stringify(value))
  return { nonce: encodeBase64(nonce), ciphertext: encodeBase64(platform().secretbox.seal(bytes, nonce, key)) }
}

export interface SealRequestOptions {
  sessionId: string
  /** The plaintext request, `{type, id, ...fields}`. */
  request: { type: string; id: string } & Record<string, unknown>
  key: Uint8Array
  /** Goes big-endian into nonce bytes 16–23; must strictly increase under one key. */
  counter: bigint
  /** Test hook: use this nonce as is (e.g. a reused one); `counter` is then ignored. */
  nonce?: Uint8Array
  /** Test hook: the envelope's `id`; `request.id` by default. */
  envelopeId?: string
}

/** An `encrypted_message` frame (PROTOCOL.md §3) sealing `request` under `key` with a counter nonce. */
export function sealRequest(opts: SealRequestOptions): EncryptedFrame {
  const sealed = sealJson(opts.request, opts.key, opts.nonce ?? counterNonce(opts.counter))
  return {
    type: 'encrypted_message',
    id: opts.envelopeId ?? opts.request.id,
    session_id: opts.sessionId,
    nonce: sealed.nonce,
    ciphertext: sealed.ciphertext,
  }
}
