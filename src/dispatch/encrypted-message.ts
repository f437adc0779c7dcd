// encrypted_message (contract section 3): envelope checks in the contract's
// order, answered in plaintext; then the operation, answered sealed as
// `<type>Response`. Every request with an id gets exactly one reply.
import { decodeBase64, decodeUtf8, encodeUtf8, MAC_BYTES, NONCE_BYTES, nonceCounter } from '@rag-session-host/client/shared'
import { ProtocolError, badRequest, limitExceeded } from '../protocol/errors.js'
import type { ConnectionKey } from '../crypto/key-store.js'
import type { Preopened } from '../crypto/frame-preopen.js'
import { frameId, isObject, parseJson, requireRequestId, requireSessionId, type JsonObject } from '../protocol/inbound.js'
import { operationFailed, operationSucceeded, plainError } from '../protocol/replies.js'
import type { ConnectionPort, HostContext } from './context.js'
import { findOperation } from './operations/index.js'

/** Upper bound of the sealed envelope's size for a plaintext of `bytes`: base64 of (plaintext + MAC), plus the envelope's fields. */
function sealedFrameBytes(bytes: number): number {
  return Math.ceil(((bytes + MAC_BYTES) * 4) / 3) + 512
}

interface Opened {
  requestId: string
  sessionId: string
  request: JsonObject & { type: string }
}

/** An envelope whose box has opened (inline, or on the worker), not yet counted. */
interface Decrypted {
  requestId: string
  sessionId: string
  nonce: Uint8Array
  plaintext: Uint8Array
  entry: ConnectionKey
}

/** The connection's key for `sessionId`; a key whose session was just dropped is as good as none (it is wiped right after the evicted notice). */
function keyFor(ctx: HostContext, conn: ConnectionPort, sessionId: string): ConnectionKey | undefined {
  return ctx.sessions.get(sessionId) ? ctx.keys.get(conn.id, sessionId) : undefined
}

/** Envelope shape, key, decryption: the checks before the counter, in the contract's order. */
async function decrypt(ctx: HostContext, conn: ConnectionPort, frame: JsonObject): Promise<Decrypted> {
  const requestId = requireRequestId(frame)
  const sessionId = requireSessionId(frame)
  const nonce = decodeBase64(frame.nonce, NONCE_BYTES)
  if (!nonce) throw badRequest('nonce must be base64 of 24 bytes')
  const ciphertext = frame.ciphertext
  if (typeof ciphertext !== 'string') throw badRequest('ciphertext must be base64')

  const entry = keyFor(ctx, conn, sessionId)
  if (!entry) {
    // A malformed ciphertext outranks no_session; only this rare path pays for the check.
    if (!decodeBase64(ciphertext)) throw badRequest('ciphertext must be base64')
    throw new ProtocolError('no_session', 'this connection holds no key for that session')
  }
  const opened = await ctx.secretbox.open(ciphertext, nonce, entry.key)
  if (!opened.ok) throw unopened(opened.reason)
  return { requestId, sessionId, nonce, plaintext: opened.plaintext, entry }
}

function unopened(reason: 'malformed' | 'failed'): ProtocolError {
  return reason === 'malformed' ? badRequest('ciphertext must be base64') : new ProtocolError('decrypt_failed', 'the message does not open with this connection key')
}

/** The checks after decryption: the key still current, the counter, the plaintext's shape. */
function accept(ctx: HostContext, d: Decrypted): Opened {
  // The socket may have closed, or the session been dropped, while a worker opened the box.
  if (!ctx.keys.isCurrent(d.entry) || !ctx.sessions.get(d.sessionId)) {
    throw new ProtocolError('no_session', 'the connection key changed while the message was opened')
  }
  // Only a frame that decrypts moves the counter, whatever its plaintext holds.
  if (!ctx.keys.advance(d.entry, nonceCounter(d.nonce))) throw new ProtocolError('replayed', 'the nonce counter did not increase')

  const text = decodeUtf8(d.plaintext)
  const parsed = text === undefined ? undefined : parseJson(text)
  if (!parsed?.ok || !isObject(parsed.value)) throw badRequest('the plaintext must be a JSON object')
  const request = parsed.value
  if (typeof request.type !== 'string') throw badRequest('the request must have a string type')
  if (request.id !== d.requestId) throw badRequest("the request id must equal the envelope's id")
  return { requestId: d.requestId, sessionId: d.sessionId, request: request as JsonObject & { type: string } }
}

/** An envelope failure: a plaintext error carrying the frame's id (or null). */
function rejectEnvelope(ctx: HostContext, conn: ConnectionPort, id: string | null, err: unknown): void {
  const code = err instanceof ProtocolError ? err.code : 'internal'
  ctx.metrics.envelopeErrors.inc({ code })
  conn.log.info({ event: 'request.rejected', code, req_id: id }, 'encrypted message rejected')
  if (!(err instanceof ProtocolError)) conn.log.error({ event: 'request.fault', err }, 'envelope fault')
  conn.sendPlain(plainError(id, err))
}

export async function handleEncryptedMessage(ctx: HostContext, conn: ConnectionPort, frame: JsonObject, throttleMs: number): Promise<void> {
  let opened: Opened
  try {
    opened = accept(ctx, await decrypt(ctx, conn, frame))
  } catch (err) {
    return rejectEnvelope(ctx, conn, frameId(frame), err)
  }
  await run(ctx, conn, opened, throttleMs)
}

/**
 * A large frame the worker already parsed and tried to open with the
 * connection's key (`entry`): its envelope passed every check before the key,
 * so what is left is the key's currency, the counter and the plaintext.
 */
export async function handlePreopened(
  ctx: HostContext,
  conn: ConnectionPort,
  entry: ConnectionKey,
  pre: Extract<Preopened, { kind: 'opened' | 'unopened' }>,
  throttleMs: number,
): Promise<void> {
  let opened: Opened
  try {
    if (pre.kind === 'unopened') {
      // Malformed base64 outranks no_session; a box that does not open does not.
      if (pre.reason === 'failed' && (!ctx.keys.isCurrent(entry) || !ctx.sessions.get(entry.sessionId))) {
        throw new ProtocolError('no_session', 'this connection holds no key for that session')
      }
      throw unopened(pre.reason)
    }
    opened = accept(ctx, { requestId: pre.id, sessionId: entry.sessionId, nonce: pre.nonce, plaintext: pre.plaintext, entry })
  } catch (err) {
    return rejectEnvelope(ctx, conn, pre.id, err)
  }
  await run(ctx, conn, opened, throttleMs)
}

async function run(ctx: HostContext, conn: ConnectionPort, { requestId, sessionId, request }: Opened, throttleMs: number): Promise<void> {
  const started = process.hrtime.bigint()
  const session = ctx.sessions.get(sessionId)
  if (!session) return conn.sendPlain(plainError(requestId, new ProtocolError('no_session', 'the session is gone')))
  const log = conn.log.child({ session_id: sessionId, session_seq: session.seq, req_id: requestId })
  const op = findOperation(request.type)
  const opLabel = op ? request.type : 'unknown'
  let reply
  try {
    if (throttleMs > 0) throw new ProtocolError('rate_limited', 'too many requests on this connection', throttleMs)
    if (!op) throw badRequest('unknown operation')
    if (op.changesSession && session.ended) throw new ProtocolError('session_ended', 'the session has ended; it is read-only')
    ctx.sessions.touch(session)
    reply = operationSucceeded(request.type, requestId, await op.handle({ host: ctx, conn, session, request, log }))
  } catch (err) {
    reply = operationFailed(request.type, requestId, err)
    const code = reply.error?.code
    if (err instanceof ProtocolError) log.info({ event: 'request.failed', op: opLabel, code }, 'request failed')
    else log.error({ event: 'request.failed', op: opLabel, code, err }, 'request fault')
  }
  let plaintext = encodeUtf8(JSON.stringify(reply))
  if (sealedFrameBytes(plaintext.length) > ctx.config.maxFrameBytes) {
    // A reply the client could not receive is answered with a typed error instead.
    reply = operationFailed(request.type, requestId, limitExceeded('the reply would exceed max_frame_bytes; ask for less (limit, before_seq, k)'))
    plaintext = encodeUtf8(JSON.stringify(reply))
  }
  ctx.metrics.requests.inc({ op: opLabel, outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'internal') })
  let sent = false
  try {
    sent = await conn.sendSealed(requestId, sessionId, plaintext)
  } catch (err) {
    log.error({ event: 'reply.fault', op: opLabel, err }, 'could not seal the reply')
    if (conn.open) conn.sendPlain(plainError(requestId, err))
    return
  }
  // The session was dropped (its key wiped) while the request ran: still one final reply.
  if (!sent && conn.open) conn.sendPlain(plainError(requestId, new ProtocolError('no_session', 'the session was dropped while the request ran')))
  ctx.metrics.requestSeconds.observe({ op: opLabel }, Number(process.hrtime.bigint() - started) / 1e9)
}
