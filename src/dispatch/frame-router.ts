// First stop of every inbound frame: what cannot be parsed gets a plaintext
// error, and the connection stays open; the rest goes to its frame handler.
import { decodeUtf8 } from '../crypto/encoding.js'
import { ProtocolError, badRequest } from '../protocol/errors.js'
import { frameId, isObject, parseJson } from '../protocol/inbound.js'
import { plainError } from '../protocol/replies.js'
import type { ConnectionPort, HostContext } from './context.js'
import { handleEncryptedMessage } from './encrypted-message.js'
import { handleSessionInit } from './session-init.js'

export async function routeFrame(ctx: HostContext, conn: ConnectionPort, data: Buffer, isBinary: boolean, throttleMs: number): Promise<void> {
  const reject = (id: string | null, err: ProtocolError, frameType: string): void => {
    ctx.metrics.frames.inc({ type: frameType })
    ctx.metrics.envelopeErrors.inc({ code: err.code })
    conn.log.info({ event: 'frame.rejected', code: err.code, req_id: id }, err.message)
    conn.sendPlain(plainError(id, err))
  }
  if (isBinary) return reject(null, badRequest('binary frames are not accepted; send JSON text'), 'binary')
  const text = decodeUtf8(data)
  if (text === undefined) return reject(null, badRequest('the frame is not valid UTF-8'), 'invalid')
  const parsed = parseJson(text)
  if (!parsed.ok) return reject(null, badRequest('the frame is not JSON'), 'invalid')
  if (!isObject(parsed.value)) return reject(null, badRequest('the frame must be a JSON object'), 'invalid')
  const frame = parsed.value

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
