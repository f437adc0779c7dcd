// First stop of every inbound frame: what cannot be parsed gets a plaintext
// error, and the connection stays open; the rest goes to its frame handler.
// Returns what to send; transport sends it.
import { decodeUtf8 } from '@rag-session-host/client/shared'
import type { Preopened } from '../crypto/frame-preopen.js'
import type { ConnectionKey } from '../crypto/key-store.js'
import type { PreparedPlaintext } from './plaintext.js'
import { ProtocolError, badRequest } from '../protocol/errors.js'
import { frameId, isObject, parseJson, type JsonObject } from '../protocol/inbound.js'
import type { HostContext, Peer } from './context.js'
import { handleEncryptedMessage } from './encrypted-message.js'
import type { Outcome } from './outcome.js'
import { rejectFrame } from './reject.js'
import { handleSessionInit } from './session-init.js'

const INVALID = {
  utf8: 'the frame is not valid UTF-8',
  json: 'the frame is not JSON',
  object: 'the frame must be a JSON object',
} as const

/** The worker's reading of a large frame; undefined (parse inline instead) if the worker failed. */
async function preopen(ctx: HostContext, peer: Peer, data: Buffer, key: ConnectionKey): Promise<Preopened<PreparedPlaintext> | undefined> {
  try {
    const { maxBatch, maxDims, maxMetadataBytes } = ctx.config
    const pre = await ctx.offload.preopen(data, key.sessionId, key.key, { maxBatch, maxDims, maxMetadataBytes }, peer.id)
    // 'prepared' is an opened box whose plaintext was read there too: still 'opened' to operators.
    ctx.metrics.offloadedFrames.inc({ outcome: pre.kind === 'prepared' ? 'opened' : pre.kind })
    return pre
  } catch (err) {
    ctx.metrics.offloadedFrames.inc({ outcome: 'failed' })
    peer.log.warn({ event: 'offload.failed', err: { message: err instanceof Error ? err.message : String(err) } }, 'worker failed; frame handled inline')
    return undefined
  }
}

/** The frame as a JSON object, or the reason it is not one. */
function parseFrame(data: Buffer): JsonObject | keyof typeof INVALID {
  const text = decodeUtf8(data)
  if (text === undefined) return 'utf8'
  const parsed = parseJson(text)
  if (!parsed.ok) return 'json'
  return isObject(parsed.value) ? parsed.value : 'object'
}

export async function routeFrame(ctx: HostContext, peer: Peer, data: Buffer, isBinary: boolean, throttleMs: number): Promise<Outcome> {
  const reject = (id: string | null, err: ProtocolError, frameType: string): Outcome => {
    ctx.metrics.frames.inc({ type: frameType })
    return rejectFrame(ctx, peer, 'frame', id, err)
  }
  if (isBinary) return reject(null, badRequest('binary frames are not accepted; send JSON text'), 'binary')

  // A large frame on a connection holding a key is parsed and opened on the
  // worker, and its plaintext read there: parsing a multi-megabyte envelope
  // and its request here would stall every connection.
  const key = data.length >= ctx.config.cryptoOffloadBytes ? ctx.keys.entryOf(peer.id) : undefined
  const pre = key ? await preopen(ctx, peer, data, key) : undefined
  if (key && pre && pre.kind !== 'frame') {
    if (pre.kind === 'invalid') return reject(null, badRequest(INVALID[pre.reason]), 'invalid')
    ctx.metrics.frames.inc({ type: 'encrypted_message' })
    return handleEncryptedMessage(ctx, peer, { pre, key }, throttleMs)
  }
  const frame = pre?.kind === 'frame' ? pre.frame : parseFrame(data)
  if (typeof frame === 'string') return reject(null, badRequest(INVALID[frame]), 'invalid')

  switch (frame.type) {
    case 'encrypted_session_init':
      ctx.metrics.frames.inc({ type: frame.type })
      return handleSessionInit(ctx, peer, frame, throttleMs)
    case 'encrypted_message':
      ctx.metrics.frames.inc({ type: frame.type })
      return handleEncryptedMessage(ctx, peer, { frame }, throttleMs)
    default:
      if (throttleMs > 0) return reject(frameId(frame), new ProtocolError('rate_limited', 'too many requests on this connection', throttleMs), 'unknown')
      return reject(frameId(frame), badRequest('unknown frame type'), 'unknown')
  }
}
