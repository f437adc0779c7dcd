// A raw protocol peer for tests: a real WebSocket on 127.0.0.1 and real
// crypto, built from the SDK's frame building blocks so a test can send
// exactly the bytes it means to, good or deliberately bad.
import WebSocket from 'ws'
import { buildSessionInit, generateIdentity, openInitAck, openSealed, sealRequest, type Identity, type BuildSessionInitOptions } from '@rag-session-host/client'
import type { SessionInitInfo } from '@rag-session-host/client/shared'

type Frame = Record<string, any>

let nextId = 0
export const rid = (prefix = 'r'): string => `${prefix}${++nextId}`

export class Wire {
  readonly frames: Frame[] = []
  #waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = []
  closed: Promise<{ code: number; reason: string }>
  key: Uint8Array | undefined
  sessionId: string | undefined
  counter = 0n

  private constructor(
    readonly ws: WebSocket,
    readonly hostPublicKey: Uint8Array,
  ) {
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? '{}' : data.toString()) as Frame
      const i = this.#waiters.findIndex((w) => w.pred(frame))
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame)
      else this.frames.push(frame)
    })
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  static async open(wsUrl: string, hostPublicKey: Uint8Array, opts: WebSocket.ClientOptions = {}): Promise<Wire> {
    const ws = new WebSocket(wsUrl, opts)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return new Wire(ws, hostPublicKey)
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame))
  }

  /** The next frame matching `pred` (already received or still to come). */
  waitFor(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!)
    return new Promise((resolve, reject) => {
      const waiter = { pred, resolve: (f: Frame) => (clearTimeout(timer), resolve(f)) }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error(`no matching frame within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  /** The reply carrying request id `id`. */
  reply(id: string | null, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor((f) => f.id === id, timeoutMs)
  }

  /** Sends an init and returns its ack; on success the wire adopts the new key (counter restarts). */
  async init(opts: Partial<BuildSessionInitOptions> & { sessionId: string; identity: Identity }): Promise<{ ack: Frame; info?: SessionInitInfo; key: Uint8Array; frame: Frame }> {
    const requestId = opts.requestId ?? rid('init')
    const built = buildSessionInit({ hostPublicKey: this.hostPublicKey, requestId, ...opts })
    this.send(built.frame)
    const ack = await this.reply(requestId)
    if (ack.ok) {
      const info = openInitAck(ack, built.sessionKey)
      this.key = built.sessionKey
      this.sessionId = opts.sessionId
      this.counter = 0n
      return { ack, info, key: built.sessionKey, frame: built.frame }
    }
    return { ack, key: built.sessionKey, frame: built.frame }
  }

  /** Seals a request (next counter) without sending it. */
  seal(type: string, fields: Record<string, unknown> = {}, id = rid()): Frame {
    if (!this.key || !this.sessionId) throw new Error('no session on this wire')
    return sealRequest({ sessionId: this.sessionId, key: this.key, counter: ++this.counter, request: { ...fields, type, id } })
  }

  /** Sends a sealed request and returns the opened reply (or the plaintext error frame, as is). */
  async request(type: string, fields: Record<string, unknown> = {}): Promise<Frame> {
    const frame = this.seal(type, fields)
    this.send(frame)
    return this.open(await this.reply(frame.id))
  }

  /** Opens a sealed reply with the wire's key; returns plaintext frames unchanged. */
  open(frame: Frame, key = this.key): Frame {
    if (frame.type !== 'encrypted_message') return frame
    return openSealed(frame, key!)
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close()
    return this.closed
  }
}

export interface UpgradeOutcome {
  /** 101 when the socket opened, else the HTTP status of the refusal. */
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The refusal's body, parsed as JSON when it is JSON. */
  body?: unknown
}

/** Tries a WebSocket upgrade and reports how the host answered; a socket that opens is closed again at once. */
export function tryUpgrade(wsUrl: string, opts: WebSocket.ClientOptions = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, opts)
    let settled = false
    const settle = (outcome: UpgradeOutcome): void => {
      settled = true
      resolve(outcome)
    }
    ws.on('error', (err) => settled || reject(err))
    ws.once('upgrade', (res) => {
      ws.once('open', () => {
        settle({ status: 101, headers: res.headers })
        ws.close()
      })
    })
    ws.once('unexpected-response', (req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        settle({ status: res.statusCode ?? 0, headers: res.headers, body })
        req.destroy()
      })
    })
  })
}

export { generateIdentity }
