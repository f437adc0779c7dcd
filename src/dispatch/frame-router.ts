// First stop of every inbound frame: what cannot be parsed gets a plaintext
// error, and the connection stays open; the rest goes to its frame handler.
import { decodeUtf8 } from '@rag-session-host/client/shared'
import type { Preopened } from '../crypto/frame-preopen.js'
import type { ConnectionKey } from '../crypto/key-store.js'
import { ProtocolError, badRequest } from '../protocol/errors.js'
import { frameId, isObject, parseJson, type JsonObject } from '../protocol/inbound.js'
import { plainError } from '../protocol/replies.js'
import type { ConnectionPort, HostContext } from './context.js'
import { handleEncryptedMessage, handlePreopened } from './encrypted-message.js'
import { handleSessionInit } from './session-init.js'

const INVALID = {
  utf8: 'the frame is not valid UTF-8',
  json: 'the frame is not JSON',
  object: 'the frame must be a JSON object',
} as const

/** The worker's reading of a large frame; undefined (parse inline instead) if the worker failed. */
async function preopen(ctx: HostContext, conn: ConnectionPort, data: Buffer, entry: ConnectionKey): Promise<Preopened | undefined> {
  try {
    const pre = await ctx.secretbox.preopen(data, entry.sessionId, entry.key)
    ctx.metrics.offloadedFrames.inc({ outcome: pre.kind })
    return pre
  } catch (err) {
    ctx.metrics.offloadedFrames.inc({ outcome: 'failed' })
    conn.log.warn({ event: 'offload.failed', err: { message: err instanceof Error ? err.message : String(err) } }, 'worker failed; frame handled inline')
    return undefined
  }
}

export async function routeFrame(ctx: HostContext, conn: ConnectionPort, data: Buffer, isBinary: boolean, throttleMs: number): Promise<void> {
  const reject = (id: string | null, err: ProtocolError, frameType: string): void => {
    ctx.metrics.frames.inc({ type: frameType })
    ctx.metrics.envelopeErrors.inc({ code: err.code })
    conn.log.info({ event: 'frame.rejected', code: err.code, req_id: id }, err.message)
    conn.sendPlain(plainError(id, err))
  }
  if (isBinary) return reject(null, badRequest('binary frames are not accepted; send JSON text'), 'binary')

  let frame: JsonObject
  // A large frame on a connection holding a key is parsed and opened on the
  // worker: parsing a multi-megabyte envelope here would stall every connection.
  const entry = data.length >= ctx.config.cryptoOffloadBytes ? ctx.keys.entryOf(conn.id) : undefined
  const pre = entry ? await preopen(ctx, conn, data, entry) : undefined
  if (entry && pre) {
    if (pre.kind === 'invalid') return reject(null, badRequest(INVALID[pre.reason]), 'invalid')
    if (pre.kind !== 'frame') {
      ctx.metrics.frames.inc({ type: 'encrypted_message' })
      return handlePreopened(ctx, conn, entry, pre, throttleMs)
    }
    frame = pre.frame
  } else {
    const text = decodeUtf8(data)
    if (text === undefined) return reject(null, badRequest(INVALID.utf8), 'invalid')
    const parsed = parseJson(text)
    if (!parsed.ok) return reject(null, badRequest(INVALID.json), 'invalid')
    if (!isObject(parsed.value)) return reject(null, badRequest(INVALID.object), 'invalid')
    frame = parsed.value
  }

  switch (frame.type) {
    case 'encrypted_session_init':
      ctx.metrics.frames.inc({ type: frame.type })
      return handleSessionInit(ctx, conn, frame, throttleMs)
    case 'encrypted_message':
      ctx.metrics.frames.inc({ type: frame.type })
      return handleEncryptedMessage(ctx, conn, frame, throttleMs)
    default:
      if (throttleMs > 0) return reject(frameId(frame), new ProtocolError('rate_limited', 'too many requests on this connection', throttleMs), 'unknown')
      return reject(frameId(frame), badRequest('unknown frame type'), 'unknown')
  }
}
