// One WebSocket: frames in, one at a time and in order, replies out. Order
// per connection keeps counters and key rotation simple and gives clients a
// predictable pipeline; other connections are not held up (all waits are async).
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { WebSocket, RawData } from 'ws'
import { encodeUtf8 } from '@rag-session-host/client/shared'
import type { ConnectionPort, HostContext } from '../dispatch/context.js'
import { routeFrame } from '../dispatch/frame-router.js'
import { sealedEnvelope } from '../protocol/replies.js'
import { TokenBucket } from './rate-limiter.js'

interface Queued {
  data: Buffer
  isBinary: boolean
  /** Rate-limit verdict taken on arrival, so a flood is judged by when it came, not when it is served. */
  throttleMs: number
}

export function newConnectionId(): string {
  return 'c_' + randomBytes(6).toString('base64url')
}

export class Connection implements ConnectionPort {
  readonly id = newConnectionId()
  readonly log: Logger
  readonly openedAt: number
  /** Cleared by every ping round; a socket that has not answered since the last one is dead. */
  alive = true
  #queue: Queued[] = []
  #queuedBytes = 0
  #pumping = false
  #paused = false
  #closed = false
  /** Set at shutdown: keeps the socket paused however short the queue gets. */
  #draining = false
  #frames = 0
  readonly #bucket: TokenBucket

  constructor(
    private readonly ctx: HostContext,
    private readonly socket: WebSocket,
    remoteAddress: string,
    private readonly onClose: (conn: Connection, code: number) => void,
  ) {
    this.openedAt = ctx.now()
    this.log = ctx.log.child({ conn_id: this.id })
    this.#bucket = new TokenBucket(ctx.config.rateLimitPerSec, ctx.config.rateLimitBurst, this.openedAt)
    socket.on('message', (data, isBinary) => this.#receive(data, isBinary))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', (code) => this.#closedBy(code))
    socket.on('error', (err) => this.log.warn({ event: 'connection.error', err: { message: err.message } }, 'socket error'))
    this.log.info({ event: 'connection.opened', remote: remoteAddress }, 'connection opened')
  }

  get open(): boolean {
    return !this.#closed
  }

  throttle(): number {
    return this.#bucket.take(this.ctx.now())
  }

  sendPlain(frame: object): void {
    if (this.#closed) return
    this.socket.send(JSON.stringify(frame))
  }

  async sendSealed(id: string | null, sessionId: string, plaintext: object | Uint8Array): Promise<boolean> {
    const entry = this.ctx.keys.get(this.id, sessionId)
    if (!entry || this.#closed) return false
    const bytes = plaintext instanceof Uint8Array ? plaintext : encodeUtf8(JSON.stringify(plaintext))
    const sealed = await this.ctx.secretbox.seal(bytes, entry.key)
    // Sealed under a key that rotated meanwhile, the client could not open it.
    if (!this.ctx.keys.isCurrent(entry) || this.#closed) return false
    this.socket.send(JSON.stringify(sealedEnvelope(id, sessionId, sealed)))
    return true
  }

  /** Pings, or closes a socket that did not answer the previous ping. */
  heartbeat(): void {
    if (this.#closed) return
    // A connection we are still serving (or have paused) is plainly there, and
    // its pongs may sit unread behind the pause: never call it stale.
    if (this.#pumping || this.#paused) this.alive = true
    if (!this.alive) {
      this.log.info({ event: 'connection.stale' }, 'no pong since last ping: closing')
      this.socket.terminate()
      return
    }
    this.alive = false
    this.socket.ping()
  }

  /** Stops reading frames and resolves once those already queued are answered (or after `maxWaitMs`). */
  async drain(maxWaitMs: number): Promise<void> {
    if (!this.#closed && !this.#paused) {
      this.#paused = true
      this.socket.pause()
    }
    this.#draining = true
    const deadline = this.ctx.now() + maxWaitMs
    while ((this.#pumping || this.#queue.length > 0) && !this.#closed && this.ctx.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    // Reading must go on, or the peer's close frame is never seen and ws waits
    // its full close timeout; frames that still arrive are dropped (#receive).
    this.#draining = true
    if (this.#paused) this.socket.resume()
    this.socket.close(code, reason)
  }

  terminate(): void {
    this.socket.terminate()
  }

  #receive(data: RawData, isBinary: boolean): void {
    this.alive = true
    if (this.#draining) return // shutting down: only what was queued before is answered
    this.#frames++
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    this.#queue.push({ data: buf, isBinary, throttleMs: this.throttle() })
    this.#queuedBytes += buf.length
    // Backpressure: stop reading from a client that sends faster than we serve
    // it, by count and by bytes (a few maximal frames are enough to wait on).
    if (!this.#paused && (this.#queue.length >= this.ctx.config.connectionQueueMax || this.#queuedBytes >= 2 * this.ctx.config.maxFrameBytes)) {
      this.#paused = true
      this.socket.pause()
    }
    if (!this.#pumping) void this.#pump()
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    try {
      let item: Queued | undefined
      while (!this.#closed && (item = this.#queue.shift()) !== undefined) {
        this.#queuedBytes -= item.data.length
        try {
          await routeFrame(this.ctx, this, item.data, item.isBinary, item.throttleMs)
        } catch (err) {
          // Handlers answer their own failures; reaching here is a bug, and the connection must survive it.
          this.log.error({ event: 'frame.fault', err }, 'unhandled fault while handling a frame')
        }
        if (this.#paused && !this.#draining && this.#queue.length <= this.ctx.config.connectionQueueMax / 2 && this.#queuedBytes < this.ctx.config.maxFrameBytes) {
          this.#paused = false
          this.socket.resume()
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  #closedBy(code: number): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue = []
    this.#queuedBytes = 0
    this.log.info({ event: 'connection.closed', code, frames: this.#frames, ms: this.ctx.now() - this.openedAt }, 'connection closed')
    this.onClose(this, code)
  }
}
