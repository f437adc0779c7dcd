// Records what a real host receives on its WebSockets and opens it the way
// the contract says the host does (tweetnacl directly, with the host's secret
// key, not the SDK's helpers), so a client test can check what the SDK put on
// the wire while the real host answers. It only listens: a second 'message'
// listener on the sockets of the host's own WebSocket server.
import nacl from 'tweetnacl'
import type { WebSocket } from 'ws'
import type { TestHost } from './host.js'

const unb64 = (text: unknown): Uint8Array => new Uint8Array(Buffer.from(String(text), 'base64'))

export interface TappedInit {
  /** Index of the connection (in the order the host accepted them). */
  conn: number
  id: string
  sessionId: string
  ephPub: string
  sessionKey: string
  clientPub: string
  newAttempt: unknown
  ts: number
}

export interface TappedRequest {
  conn: number
  /** The counter in nonce bytes 16-23 (big-endian). */
  counter: bigint
  request: Record<string, any>
}

export class InboundTap {
  readonly inits: TappedInit[] = []
  readonly requests: TappedRequest[] = []
  /** Every text frame as parsed JSON, in arrival order. */
  readonly frames: { conn: number; frame: Record<string, any> }[] = []
  #conns = 0

  private constructor(private readonly hostSecretKey: Uint8Array) {}

  /** Starts recording every connection the host accepts from now on. */
  static attach(host: TestHost): InboundTap {
    const tap = new InboundTap(host.hostSecretKey)
    host.server.app.websocketServer.on('connection', (ws: WebSocket) => tap.#watch(ws))
    return tap
  }

  /** Connections the host has accepted since the tap was attached. */
  get conns(): number {
    return this.#conns
  }

  #watch(ws: WebSocket): void {
    const conn = this.#conns++
    ws.on('message', (data, isBinary) => {
      if (isBinary) return
      let frame: Record<string, any>
      try {
        frame = JSON.parse(data.toString()) as Record<string, any>
      } catch {
        return
      }
      this.frames.push({ conn, frame })
      if (frame.type === 'encrypted_session_init') this.#init(conn, frame)
      else if (frame.type === 'encrypted_message') this.#request(conn, frame)
    })
  }

  #init(conn: number, frame: Record<string, any>): void {
    const opened = nacl.box.open(unb64(frame.ciphertext), unb64(frame.nonce), unb64(frame.eph_pub), this.hostSecretKey)
    if (!opened) return
    const payload = JSON.parse(Buffer.from(opened).toString('utf8')) as Record<string, unknown>
    this.inits.push({
      conn,
      id: String(frame.id),
      sessionId: String(frame.session_id),
      ephPub: String(frame.eph_pub),
      sessionKey: String(payload.session_key),
      clientPub: String(payload.client_pub),
      newAttempt: payload.new_attempt,
      ts: Number(payload.ts),
    })
  }

  #request(conn: number, frame: Record<string, any>): void {
    const nonce = unb64(frame.nonce)
    // Whichever key this connection sent in an init opens it (the newest first).
    for (const init of this.inits.filter((i) => i.conn === conn).reverse()) {
      const opened = nacl.secretbox.open(unb64(frame.ciphertext), nonce, unb64(init.sessionKey))
      if (!opened) continue
      const counter = Buffer.from(nonce).readBigUInt64BE(16)
      this.requests.push({ conn, counter, request: JSON.parse(Buffer.from(opened).toString('utf8')) as Record<string, any> })
      return
    }
  }
}

/** Independent of the SDK's codec: little-endian float32 via DataView. */
export function decodeF32(text: string): number[] {
  const buf = Buffer.from(text, 'base64')
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const out: number[] = []
  for (let i = 0; i < buf.length; i += 4) out.push(view.getFloat32(i, true))
  return out
}
