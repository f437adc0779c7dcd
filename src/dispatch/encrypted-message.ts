// encrypted_message (PROTOCOL.md §3): the envelope checks in the contract's order (§3.3),
// answered in plaintext; then the operation, answered with a `<type>Response`
// to be sealed (§3.4). Every request with an id gets exactly one reply.
import { decodeBase64, nonceCounter } from '@rag-session-host/client/shared'
import type { Logger } from 'pino'
import type { Preopened } from '../crypto/frame-preopen.js'
import type { ConnectionKey } from '../crypto/key-store.js'
import { ProtocolError, badRequest } from '../protocol/errors.js'
import { frameId, isObject, parseEnvelope, type JsonObject } from '../protocol/inbound.js'
import type { CheckedItems } from '../vectors/item-check.js'
import { encodeOperationReply, operationFailed, operationSucceeded, type OperationReply } from '../protocol/replies.js'
import type { HostContext, HostSession, Peer } from './context.js'
import { commitThen } from './commit.js'
import { findOperation } from './operations/index.js'
import { isPendingChange, type OperationResult } from './operations/operation.js'
import { parsePlaintext, type PreparedPlaintext } from './plaintext.js'
import type { Notice, Outcome } from './outcome.js'
import { rejectFrame } from './reject.js'

/** An envelope whose shape passed, and what trying its box gave: from the inline path or from the worker. */
interface Unboxed {
  requestId: string
  sessionId: string
  /** The key the box was tried with; undefined when the connection holds none for `sessionId`. */
  key: ConnectionKey | undefined
  box: { ok: true; nonce: Uint8Array; plaintext: Uint8Array | PreparedPlaintext } | { ok: false; reason: 'malformed' | 'failed' }
}

interface Opened {
  requestId: string
  key: ConnectionKey
  session: HostSession
  request: JsonObject & { type: string }
  /** An upload's items, checked already on the worker (in place of `request.vectors`). */
  items: CheckedItems | undefined
}

/** A frame parsed here, or one the worker parsed and tried to open with the connection's key (see crypto/frame-preopen.ts). */
export type EnvelopeSource = { frame: JsonObject } | { key: ConnectionKey; pre: Extract<Preopened<PreparedPlaintext>, { kind: 'opened' | 'prepared' | 'unopened' }> }

/** The inline path: the envelope's shape, the key, then secretbox (which itself goes to the worker for a large box). */
async function unbox(ctx: HostContext, peer: Peer, frame: JsonObject): Promise<Unboxed> {
  const { requestId, sessionId, nonce, ciphertext } = parseEnvelope(frame)
  const key = ctx.keys.get(peer.id, sessionId)
  // Without a key there is no box to open; its base64 is checked all the same, since a malformed ciphertext outranks no_session.
  if (!key) return { requestId, sessionId, key, box: { ok: false, reason: decodeBase64(ciphertext) ? 'failed' : 'malformed' } }
  const opened = await ctx.offload.open(ciphertext, nonce, key.key, peer.id)
  return { requestId, sessionId, key, box: opened.ok ? { ok: true, nonce, plaintext: opened.plaintext } : opened }
}

/** The worker's path: it found the envelope well formed and addressed to `key`'s session. */
function unboxedByWorker({ key, pre }: Extract<EnvelopeSource, { pre: unknown }>): Unboxed {
  const box =
    pre.kind === 'unopened'
      ? ({ ok: false, reason: pre.reason } as const)
      : ({ ok: true, nonce: pre.nonce, plaintext: pre.kind === 'prepared' ? pre.prepared : pre.plaintext } as const)
  return { requestId: pre.id, sessionId: key.sessionId, key, box }
}

/** The checks after the shape, in §3.3's order, the same whichever path opened the box. */
function accept(ctx: HostContext, u: Unboxed): Opened {
  if (!u.box.ok && u.box.reason === 'malformed') throw badRequest('ciphertext must be base64')
  // The key may also have gone (socket closed, session dropped) while the worker had the box.
  if (!u.key || !ctx.keys.isCurrent(u.key)) throw new ProtocolError('no_session', 'this connection holds no key for that session')
  if (!u.box.ok) throw new ProtocolError('decrypt_failed', 'the message does not open with this connection key')
  // Only a frame that decrypts moves the counter, whatever its plaintext holds (§3.2).
  if (!ctx.keys.advance(u.key, nonceCounter(u.box.nonce))) throw new ProtocolError('replayed', 'the nonce counter did not increase')

  const plaintext = u.box.plaintext
  const parsed = plaintext instanceof Uint8Array ? parsePlaintext(plaintext) : plaintext
  if (!parsed.ok || !isObject(parsed.value)) throw badRequest('the plaintext must be a JSON object')
  const request = parsed.value
  if (typeof request.type !== 'string') throw badRequest('the request must have a string type')
  if (request.id !== u.requestId) throw badRequest("the request id must equal the envelope's id")

  // A key is wiped the moment its session is dropped, so a current key's session is there.
  const session = ctx.sessions.get(u.sessionId)
  if (!session) throw new Error('a current key for a session the store does not hold')
  return { requestId: u.requestId, key: u.key, session, request: request as JsonObject & { type: string }, items: parsed.items }
}

export async function handleEncryptedMessage(ctx: HostContext, peer: Peer, source: EnvelopeSource, throttleMs: number): Promise<Outcome> {
  let opened: Opened
  try {
    opened = accept(ctx, 'frame' in source ? await unbox(ctx, peer, source.frame) : unboxedByWorker(source))
  } catch (err) {
    return rejectFrame(ctx, peer, 'envelope', 'frame' in source ? frameId(source.frame) : source.pre.id, err)
  }
  return run(ctx, peer, opened, throttleMs)
}

async function run(ctx: HostContext, peer: Peer, { requestId, key, session, request, items }: Opened, throttleMs: number): Promise<Outcome> {
  const startedAt = process.hrtime.bigint()
  // Built when a line is written, not per request: a pino child runs its
  // bindings through the redaction paths, ~30 µs, a tenth of a ping's host time.
  let child: Logger | undefined
  const log = (): Logger => (child ??= peer.log.child({ session_id: session.id, session_seq: session.seq, req_id: requestId }))
  const op = findOperation(request.type)
  const opLabel = op ? request.type : 'unknown'
  let result: OperationReply
  let notices: readonly Notice[] | undefined
  try {
    if (throttleMs > 0) throw new ProtocolError('rate_limited', 'too many requests on this connection', throttleMs)
    if (!op) throw badRequest('unknown operation')
    ctx.sessions.touch(session)
    const opCtx = {
      host: ctx,
      peer,
      session,
      request,
      items,
      get log() {
        return log()
      },
    }
    const perform = (): OperationResult | Promise<OperationResult> => {
      // Checked in the session's turn: a change queued before this one may have ended it.
      if (op.changesSession && session.ended) throw new ProtocolError('session_ended', 'the session has ended; it is read-only')
      const r = op.handle(opCtx)
      if (r instanceof Promise || !isPendingChange(r)) return r
      return commitThen(ctx, r.records, () => r.apply())
    }
    const done = await (op.writes ? ctx.changes.run(session.id, perform) : perform())
    result = operationSucceeded(request.type, requestId, done.fields)
    notices = done.notices
  } catch (err) {
    result = operationFailed(request.type, requestId, err)
    const code = result.error?.code
    if (err instanceof ProtocolError) log().info({ event: 'request.failed', op: opLabel, code }, 'request failed')
    else log().error({ event: 'request.failed', op: opLabel, code, err }, 'request fault')
  }
  const { reply, plaintext } = encodeOperationReply(request.type, result, ctx.config.maxFrameBytes)
  ctx.metrics.requests.inc({ op: opLabel, outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'internal') })
  return { reply: { kind: 'sealed', id: requestId, key, plaintext, op: opLabel, startedAt, log }, ...(notices ? { notices } : {}) }
}
