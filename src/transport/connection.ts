// One WebSocket: frames in, one at a time and in order, replies out. Order
// per connection keeps counters and key rotation simple and gives clients a
// predictable pipeline; other connections are not held up (all waits are async).
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { WebSocket, RawData } from 'ws'
import type { HostContext, Peer } from '../dispatch/context.js'
import { routeFrame } from '../dispatch/frame-router.js'
import type { Outcome } from '../dispatch/outcome.js'
import type { OutboundConnection } from './outbound.js'
import { TokenBucket } from './rate-limiter.js'

interface Queued {
  data: Buffer
  isBinary: boolean
  /** Rate-limit verdict taken on arrival, so a flood is judged by when it came, not when it is served. */
  throttleMs: number
}

/** Where a connection hands what it produced: the registry of all connections. */
export interface ConnectionOwner {
  /** Sends what handling one frame produced: notices for other connections, then the frame's reply on `conn`. */
  deliver(conn: Connection, outcome: Outcome): Promise<void>
  /** The socket has closed. */
  closed(conn: Connection): void
}

function newConnectionId(): string {
  return 'c_' + randomBytes(6).toString('base64url')
}

export class Connection implements Peer, OutboundConnection {
  readonly id = newConnectionId()
  readonly log: Logger
  readonly openedAt: number
  /** Cleared by every ping round; a socket that has not answered since the last one is dead. */
  alive = true
  #queue: Queued[] = []
  #queuedBytes = 0
  #pumping = false
  #paused = false
  #closing = false
  #closed = false
  /** Set at shutdown: keeps the socket paused however short the queue gets. */
  #draining = false
  #frames = 0
  /** Resolved whenever the pump runs dry (or the socket closes): what a drain waits for. */
  #idle: (() => void)[] = []
  readonly #bucket: TokenBucket

  constructor(
    private readonly ctx: HostContext,
    private readonly socket: WebSocket,
    remoteAddress: string,
    private readonly owner: ConnectionOwner,
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
    return !this.#closing && !this.#closed
  }

  write(text: string): void {
    if (this.open) this.socket.send(text)
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

  /** Stops reading frames and resolves once those already queued are answered, or when `maxWaitMs` has passed. */
  async drain(maxWaitMs: number): Promise<void> {
    this.#draining = true
    this.#pause()
    if (!this.#busy) return
    let timer: NodeJS.Timeout | undefined
    const expired = await Promise.race([
      new Promise<false>((resolve) => this.#idle.push(() => resolve(false))),
      new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), maxWaitMs))),
    ])
    clearTimeout(timer)
    if (expired && this.#busy) {
      this.log.warn({ event: 'connection.drain_expired', queued: this.#queue.length, ms: maxWaitMs }, 'shutdown drain deadline passed with frames unanswered')
    }
  }

  close(code: number, reason: string): void {
    if (this.#closed || this.#closing) return
    this.#closing = true
    // Frames not yet started would be answered to nobody: they are not carried out.
    this.#queue = []
    this.#queuedBytes = 0
    // Reading must go on, or the peer's close frame is never seen and ws waits
    // its full close timeout; frames that still arrive are dropped (#receive).
    this.#draining = true
    if (this.#paused) this.socket.resume()
    this.socket.close(code, reason)
  }

  terminate(): void {
    this.socket.terminate()
  }

  get #busy(): boolean {
    return !this.#closed && (this.#pumping || this.#queue.length > 0)
  }

  #pause(): void {
    if (this.#paused || this.#closed || this.#closing) return
    this.#paused = true
    this.socket.pause()
  }

  #receive(data: RawData, isBinary: boolean): void {
    this.alive = true
    if (this.#draining) return // shutting down: only what was queued before is answered
    this.#frames++
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    this.#queue.push({ data: buf, isBinary, throttleMs: this.#bucket.take(this.ctx.now()) })
    this.#queuedBytes += buf.length
    // Backpressure: stop reading from a client that sends faster than we serve
    // it, by count and by bytes (a few maximal frames are enough to wait on).
    if (!this.#paused && (this.#queue.length >= this.ctx.config.connectionQueueMax || this.#queuedBytes >= 2 * this.ctx.config.maxFrameBytes)) {
      this.#pause()
      this.log.debug({ event: 'connection.paused', queued: this.#queue.length, queued_bytes: this.#queuedBytes }, 'queue full: reading paused')
    }
    if (!this.#pumping) void this.#pump()
  }

  #resumeIfRoom(): void {
    if (!this.#paused || this.#draining) return
    if (this.#queue.length > this.ctx.config.connectionQueueMax / 2 || this.#queuedBytes >= this.ctx.config.maxFrameBytes) return
    this.#paused = false
    this.socket.resume()
    this.log.debug({ event: 'connection.resumed', queued: this.#queue.length, queued_bytes: this.#queuedBytes }, 'queue half empty: reading resumed')
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    try {
      let item: Queued | undefined
      while (!this.#closed && (item = this.#queue.shift()) !== undefined) {
        this.#queuedBytes -= item.data.length
        try {
          await this.owner.deliver(this, await routeFrame(this.ctx, this, item.data, item.isBinary, item.throttleMs))
        } catch (err) {
          // Dispatch answers its own failures and sending its own faults; reaching here is a bug, and the connection must survive it.
          this.log.error({ event: 'frame.fault', err }, 'unhandled fault while handling a frame')
        }
        this.#resumeIfRoom()
      }
    } finally {
      this.#pumping = false
      this.#wake()
    }
  }

  #wake(): void {
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }

  #closedBy(code: number): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue = []
    this.#queuedBytes = 0
    this.log.info({ event: 'connection.closed', code, frames: this.#frames, ms: this.ctx.now() - this.openedAt }, 'connection closed')
    this.#wake()
    this.owner.closed(this)
  }
}
