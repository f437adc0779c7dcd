// The sealed frames of one k=10 search, measured on the wire: a raw `ws`
// connection opens the session (same identity as the SDK client that filled
// it), sends the SDK's own sealed searchVectors frame (vector_b64) and counts
// the characters of the request it sent and of the reply it got; then the
// same for a ping.
import WebSocket from 'ws'
import { buildSessionInit, encodeVectorBase64, openInitAck, sealRequest, type Identity } from '@rag-session-host/client'

export interface FrameSizes {
  requestChars: number
  replyChars: number
  /** The same for an empty operation (ping). */
  pingRequestChars: number
  pingReplyChars: number
}

const nextMessage = (ws: WebSocket): Promise<string> => new Promise((resolve) => ws.once('message', (data: WebSocket.RawData) => resolve(data.toString())))

export async function measureFrameSizes(url: string, hostPublicKey: string, identity: Identity, sessionId: string, query: Float32Array, k: number): Promise<FrameSizes> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  try {
    const hostKey = Buffer.from(hostPublicKey, 'base64')
    const init = buildSessionInit({ sessionId, requestId: 'fs-init', hostPublicKey: hostKey, identity })
    ws.send(JSON.stringify(init.frame))
    openInitAck(JSON.parse(await nextMessage(ws)), init.sessionKey)
    const frame = JSON.stringify(
      sealRequest({ sessionId, key: init.sessionKey, counter: 1n, request: { type: 'searchVectors', id: 'fs-search', vector_b64: encodeVectorBase64(query), k } }),
    )
    ws.send(frame)
    const reply = await nextMessage(ws)
    if (!reply.includes('ciphertext')) throw new Error(`search reply is not sealed: ${reply.slice(0, 200)}`)
    const ping = JSON.stringify(sealRequest({ sessionId, key: init.sessionKey, counter: 2n, request: { type: 'ping', id: 'fs-ping-00000000' } }))
    ws.send(ping)
    const pong = await nextMessage(ws)
    if (!pong.includes('ciphertext')) throw new Error(`ping reply is not sealed: ${pong.slice(0, 200)}`)
    return { requestChars: frame.length, replyChars: reply.length, pingRequestChars: ping.length, pingReplyChars: pong.length }
  } finally {
    ws.close()
  }
}
