// encrypted_session_init (PROTOCOL.md §2.2): every check in the contract's order, and
// nothing changes until all of them have passed.
import { boxBefore, verifyDetached } from '@rag-session-host/client/node-crypto'
import { decodeBase64, encodeUtf8, KEY_BYTES, NONCE_BYTES, SIGNATURE_BYTES, SIGN_PUBLIC_KEY_BYTES, initSignatureText, isSessionId } from '@rag-session-host/client/shared'
import { ProtocolError, badRequest } from '../protocol/errors.js'
import { secretbox } from '../crypto/secretbox.js'
import { frameId, parseInitPayload, requireRequestId, requireSessionId, requireString, type JsonObject } from '../protocol/inbound.js'
import type { JournalRecord } from '../journal/journal.js'
import { commitThen } from './commit.js'
import type { HostContext, Peer } from './context.js'
import type { Outcome } from './outcome.js'
import { parsePlaintext } from './plaintext.js'
import { rejectFrame } from './reject.js'

/** Base64 characters of the largest init ciphertext accepted (48 KiB of payload). */
const MAX_INIT_CIPHERTEXT_CHARS = 64 * 1024

interface Accepted {
  requestId: string
  sessionId: string
  ephPub: string
  clientPub: string
  sessionKey: Uint8Array
  newAttempt: boolean
}

/** Checks 1 to 8. Pure with respect to host state: throws the first failure. */
function check(ctx: HostContext, peer: Peer, frame: JsonObject): Accepted {
  // 1. envelope shape
  const requestId = requireRequestId(frame)
  const sessionId = requireSessionId(frame)
  const ephPubText = requireString(frame, 'eph_pub')
  const ephPub = decodeBase64(ephPubText, KEY_BYTES)
  if (!ephPub) throw badRequest('eph_pub must be base64 of 32 bytes')
  const nonce = decodeBase64(frame.nonce, NONCE_BYTES)
  if (!nonce) throw badRequest('nonce must be base64 of 24 bytes')
  // A real payload is a few hundred bytes; the cap keeps box.open, which runs
  // inline, from ever stalling the event loop on a junk init.
  if (typeof frame.ciphertext === 'string' && frame.ciphertext.length > MAX_INIT_CIPHERTEXT_CHARS) throw badRequest('init ciphertext is too large')
  const box = decodeBase64(frame.ciphertext)
  if (!box) throw badRequest('ciphertext must be base64')

  // 2. box.open with the host key
  let opened: Uint8Array | null = null
  try {
    const shared = boxBefore(ephPub, ctx.identity.privateKey)
    opened = secretbox.open(box, nonce, shared) // box.open.after is secretbox under the box key
    shared.fill(0)
  } catch {
    opened = null // a low-order eph_pub has no shared key: it cannot open
  }
  if (!opened) throw new ProtocolError('decrypt_failed', 'the init box does not open with this host key')

  // 3. payload shape
  const json = parsePlaintext(opened)
  if (!json.ok) throw badRequest('init payload is not JSON')
  const payload = parseInitPayload(json.value)
  const sessionKey = decodeBase64(payload.session_key, KEY_BYTES)
  if (!sessionKey) throw badRequest('session_key must be base64 of 32 bytes')
  const clientPub = decodeBase64(payload.client_pub, SIGN_PUBLIC_KEY_BYTES)
  if (!clientPub) throw badRequest('client_pub must be base64 of 32 bytes')
  const sig = decodeBase64(payload.sig, SIGNATURE_BYTES)
  if (!sig) throw badRequest('sig must be base64 of 64 bytes')

  // 4. freshness, then replay
  const now = ctx.now()
  if (Math.abs(now - payload.ts) > ctx.config.initClockSkewMs) {
    throw new ProtocolError('stale', `ts is more than ${ctx.config.initClockSkewMs / 1000} s from the host clock`)
  }
  if (ctx.replays.has(ephPubText, now)) throw new ProtocolError('replayed', 'this eph_pub was already used by an accepted init')

  // 5. signature over the exact text the contract names
  if (!verifyDetached(encodeUtf8(initSignatureText(sessionId, ephPubText, payload.ts)), sig, clientPub)) {
    throw new ProtocolError('bad_signature', 'the init signature does not verify')
  }

  // 6-8. ownership, capacity for a new session, new attempt on an ended one
  checkSession(ctx, peer, sessionId, payload.client_pub, payload.new_attempt === true)

  // Not a contract check: the replay cache is bounded, and forgetting a live
  // entry early would reopen a replay hole, so a full cache slows inits down.
  const wait = ctx.replays.waitForRoom(now)
  if (wait > 0) throw new ProtocolError('rate_limited', 'too many session inits; retry later', wait)

  return { requestId, sessionId, ephPub: ephPubText, clientPub: payload.client_pub, sessionKey, newAttempt: payload.new_attempt === true }
}

/**
 * Checks 6 to 8, against the state now (again in the session's turn: a change
 * queued before may have landed), with the host's own limits where they
 * belong: connections bound to one session after ownership (an owner's
 * business), sessions per client address with capacity.
 */
function checkSession(ctx: HostContext, peer: Peer, sessionId: string, clientPub: string, newAttempt: boolean): void {
  const existing = ctx.sessions.get(sessionId)
  if (existing && existing.owner !== clientPub) throw new ProtocolError('forbidden', 'the session belongs to another identity')
  const perSession = ctx.config.maxConnectionsPerSession
  if (existing && perSession > 0 && existing.connections.size >= perSession && !existing.connections.has(peer.id)) {
    throw new ProtocolError('limit_exceeded', `the session has ${perSession} connections bound, as many as it may; close one first`)
  }
  if (!existing) {
    const room = ctx.sessions.wouldAcceptNew(peer.address)
    if (!room.ok) throw new ProtocolError('capacity_exceeded', 'the host holds as many sessions as it may', room.retryAfterMs)
  }
  if (existing?.ended && newAttempt) throw new ProtocolError('session_ended', 'the session has ended: no new attempt can start')
}

/**
 * In the session's turn: the checks that depend on its state once more, then
 * the creation or new attempt is journaled, and only once it is durable is the
 * session made or resumed and the key installed (§2.3).
 */
function admit(ctx: HostContext, peer: Peer, a: Accepted): Outcome | Promise<Outcome> {
  const now = ctx.now()
  checkSession(ctx, peer, a.sessionId, a.clientPub, a.newAttempt)
  if (ctx.replays.has(a.ephPub, now)) throw new ProtocolError('replayed', 'this eph_pub was already used by an accepted init')
  // Claimed before the journal write, so a copy of this init cannot pass meanwhile.
  ctx.replays.add(a.ephPub, now)

  // Leave the previous session first: making room for the new one may drop
  // it, and this connection, already on its way out, is not to be evicted.
  // The key stays until the init is applied: a refused init changes nothing.
  const previous = ctx.keys.sessionOf(peer.id)
  const moved = previous !== undefined && previous !== a.sessionId
  const old = moved ? ctx.sessions.get(previous) : undefined
  if (old) ctx.sessions.unbind(old, peer.id)
  const existing = ctx.sessions.get(a.sessionId)
  let records: JournalRecord[] = []
  if (!existing) {
    ctx.sessions.reserveNew(peer.address)
    records = [{ t: 'created', s: a.sessionId, seq: ctx.sessions.allocateSeq(), owner: a.clientPub, ts: now, addr: peer.address }]
  } else if (a.newAttempt) {
    records = [{ t: 'attempt', s: a.sessionId, attempt: existing.attempt + 1, ts: now }]
  }
  // The journal refused it (PROTOCOL.md §2.2): the connection keeps its session, key and counter, and the eph_pub was never accepted.
  const undo = (): void => {
    if (!existing) ctx.sessions.release(peer.address)
    ctx.replays.delete(a.ephPub)
    if (!old) return
    if (ctx.sessions.get(old.id) === old) ctx.sessions.bind(old, peer.id)
    else ctx.keys.forget(peer.id) // dropped meanwhile: its key has nothing left to open
  }
  return commitThen(ctx, records, () => apply(ctx, peer, a, { previous, moved, record: records[0] }), undo)
}

interface Admitted {
  previous: string | undefined
  moved: boolean
  record: JournalRecord | undefined
}

/** The records are durable: create or resume the session, rotate the key, bind the connection. */
function apply(ctx: HostContext, peer: Peer, a: Accepted, { previous, moved, record }: Admitted): Outcome {
  const created = record?.t === 'created'
  let session = ctx.sessions.get(a.sessionId)
  if (created) session = ctx.sessions.create(a.sessionId, record.seq, a.clientPub, record.ts, true, record.addr)
  // Nothing but this queue creates or drops it meanwhile, except a retention sweep of an idle one: then say retry.
  if (!session) throw new ProtocolError('internal', 'the session was dropped while the init was journaled; retry')
  const log = peer.log.child({ session_id: session.id, session_seq: session.seq, req_id: a.requestId })
  if (moved) log.info({ event: 'connection.unbound', previous_session_id: previous }, 'connection moved to another session')
  if (record?.t === 'attempt') {
    ctx.sessions.startAttempt(session, record.attempt)
    log.info({ event: 'session.attempt_started', attempt: session.attempt }, 'new attempt started')
  }

  ctx.keys.rotate(peer.id, a.sessionId, a.sessionKey)
  ctx.sessions.bind(session, peer.id)
  log.info({ event: 'key.rotated', replaced: previous === a.sessionId }, 'session key installed')

  const counts = { vectors: session.vectors.count, history_total: session.history.total }
  if (created) log.info({ event: 'session.created', owner: a.clientPub, remote: peer.address }, 'session created')
  else log.info({ event: 'session.reinit', status: session.status, attempt: session.attempt, ...counts }, 'session re-initialised, state kept')

  const info = {
    created,
    attempt: session.attempt,
    status: session.status,
    vectors: session.vectors.count,
    dims: session.vectors.dims,
    history: session.history.countFor(session.attempt),
    history_total: session.history.total,
  }
  return { reply: { kind: 'init', id: a.requestId, sessionId: a.sessionId, info } }
}

export function handleSessionInit(ctx: HostContext, peer: Peer, frame: JsonObject, throttleMs: number): Outcome | Promise<Outcome> {
  let accepted: Accepted
  try {
    if (throttleMs > 0) throw new ProtocolError('rate_limited', 'too many requests on this connection', throttleMs)
    // Before any crypto: a flood of inits from one address costs it nothing but this.
    const wait = ctx.initRates.take(peer.address, ctx.now())
    if (wait > 0) throw new ProtocolError('rate_limited', 'too many session inits from this client address; retry later', wait)
    accepted = check(ctx, peer, frame)
  } catch (err) {
    return rejectFrame(ctx, peer, 'init', frameId(frame), err, { session_id: isSessionId(frame.session_id) ? frame.session_id : undefined })
  }
  const ok = (outcome: Outcome): Outcome => {
    ctx.metrics.inits.inc({ outcome: 'ok' })
    return outcome
  }
  const fail = (err: unknown): Outcome => rejectFrame(ctx, peer, 'init', accepted.requestId, err, { session_id: accepted.sessionId })
  try {
    const cluster = ctx.cluster
    // In cluster mode the session is first brought here (lease, then its state from Redis), in its turn.
    const outcome = cluster
      ? ctx.changes.run(accepted.sessionId, async () => {
          await cluster.claim(accepted.sessionId, accepted.clientPub)
          return admit(ctx, peer, accepted)
        })
      : ctx.changes.run(accepted.sessionId, () => admit(ctx, peer, accepted))
    return outcome instanceof Promise ? outcome.then(ok, fail) : ok(outcome)
  } catch (err) {
    return fail(err)
  }
}
