// Inbound demux: what a frame from the host means for this client, decided
// without side effects. The client applies the verdict (settle a request,
// bind a key, emit a notice or an error).
import { HostError } from './errors.js'
import { openInitAck, openSealed } from './frames.js'
import type { Pending } from './requests.js'
import { isObject } from './shared/json.js'
import type { NoticeStatus, SessionInitInfo, SessionStatusNotice } from './shared/messages.js'

const NOTICE_STATUSES: ReadonlySet<string> = new Set<NoticeStatus>(['ended', 'evicted', 'shutting_down'])

export type Verdict =
  | { kind: 'ignore' }
  | { kind: 'error'; error: HostError }
  | { kind: 'fail'; pending: Pending; error: HostError }
  | { kind: 'reply'; pending: Pending; fields: Record<string, unknown> }
  | { kind: 'bound'; pending: Pending; info: SessionInitInfo; key: Uint8Array }
  | { kind: 'notice'; notice: SessionStatusNotice }

const protocolError = (message: string, requestId?: string): HostError => new HostError('protocol_error', message, { requestId, retryable: false })

/** A failure that concerns `pending` when it was sent, else no request. */
function failOrReport(pending: Pending | undefined, error: HostError): Verdict {
  return pending && pending.sentBytes !== undefined ? { kind: 'fail', pending, error } : { kind: 'error', error }
}

/**
 * Reads one text frame. `lookup` finds a pending request by id; `boundKey` is
 * the session key the connection holds (undefined before an init succeeds).
 */
export function readFrame(text: string, lookup: (id: string) => Pending | undefined, boundKey: Uint8Array | undefined): Verdict {
  let msg: unknown
  try {
    msg = JSON.parse(text)
  } catch {
    msg = undefined
  }
  if (!isObject(msg)) return { kind: 'error', error: protocolError('host sent a frame that is not a JSON object') }
  const envelopeId = typeof msg.id === 'string' ? msg.id : undefined
  const p = envelopeId === undefined ? undefined : lookup(envelopeId)
  switch (msg.type) {
    case 'session_init_ack': {
      if (p?.kind !== 'init' || !p.sessionKey) return { kind: 'ignore' }
      try {
        return { kind: 'bound', pending: p, info: openInitAck(msg, p.sessionKey), key: p.sessionKey }
      } catch (err) {
        return { kind: 'fail', pending: p, error: err as HostError }
      }
    }
    case 'error': {
      const error = HostError.fromWire(msg.error, envelopeId ?? null)
      if (p && p.sentBytes !== undefined) return { kind: 'fail', pending: p, error }
      return envelopeId === undefined ? { kind: 'error', error } : { kind: 'ignore' }
    }
    case 'encrypted_message':
      return readSealed(msg, p, lookup, boundKey)
    default:
      // A frame type this client does not know (a newer host): ignore it.
      return { kind: 'ignore' }
  }
}

function readSealed(frame: Record<string, unknown>, envelopePending: Pending | undefined, lookup: (id: string) => Pending | undefined, key: Uint8Array | undefined): Verdict {
  if (!key) return failOrReport(envelopePending, protocolError('sealed frame on a connection without a session key'))
  let plain: Record<string, unknown>
  try {
    plain = openSealed(frame, key)
  } catch (err) {
    return failOrReport(envelopePending, err as HostError)
  }
  if (plain.type === 'session_status' && (plain.id === undefined || plain.id === null)) {
    if (typeof plain.status === 'string' && NOTICE_STATUSES.has(plain.status)) {
      return { kind: 'notice', notice: { type: 'session_status', status: plain.status as NoticeStatus, reason: typeof plain.reason === 'string' ? plain.reason : '' } }
    }
    return { kind: 'error', error: protocolError(`unknown session_status ${JSON.stringify(plain.status)}`) }
  }
  // Correlate by the id inside (authenticated), not the envelope's.
  const id = typeof plain.id === 'string' ? plain.id : undefined
  const p = id === undefined ? undefined : lookup(id)
  if (!p || p.kind !== 'request' || p.sentBytes === undefined) return { kind: 'ignore' } // late reply to a request that timed out
  if (plain.ok === false) return { kind: 'fail', pending: p, error: HostError.fromWire(plain.error, p.id) }
  if (plain.ok === true && plain.type === `${p.type}Response`) {
    const { type: _type, id: _id, ok: _ok, ...fields } = plain
    return { kind: 'reply', pending: p, fields }
  }
  return { kind: 'fail', pending: p, error: protocolError(`malformed reply to ${p.type}`, p.id) }
}
