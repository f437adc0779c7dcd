// One WebSocket: frames in, one at a time and in order, replies out. Order
// per connection keeps counters and key rotation simple and gives clients a
// predictable pipeline; other connections are not held up (all waits are async).
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { WebSocket, RawData } from 'ws'
import type { HostContext, Peer } from '../dispatch/context.js'
import { routeFrame } from '../dispatch/frame-router.js'
import type { Outcome } from '../dispatch/outcome.js'
import { rawSocketOf, type BudgetReader, type InboundMeter } from './inbound-budget.js'
import type { OutboundConnection } from './outbound.js'
import { TokenBucket } from './rate-limiter.js'

interface Queued {
  data: Buffer
  isBinary: boolean
  /** Rate-limit verdict taken on arrival, so a flood is judged by when it came, not when it is served. */
  throttleMs: number
  /** Its bytes on the wire, held in the inbound budget until it is answered or dropped. */
  wireBytes: number
}

/** WebSocket close code "policy violation": a client that does not read its replies. */
const CLOSE_POLICY = 1008
/** WebSocket close code "try again later": a client that held up every other reader by not completing its frame. */
const CLOSE_TRY_AGAIN = 1013
/**
 * How long a client we close for being slow gets to answer our close frame
 * before its socket is cut (like CLOSE_WAIT_MS at shutdown): one that does not
 * read never answers, and ws would otherwise wait its full 30 s close timeout.
 */
const SLOW_CLOSE_WAIT_MS = 1000

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

export class Connection implements Peer, OutboundConnection, BudgetReader {
  readonly id = newConnectionId()
  readonly log: Logger
  readonly openedAt: number
  /** The client address (TRUST_PROXY honoured): what per-address limits count by. */
  readonly address: string
  /** Cleared by every ping round; a socket that has not answered since the last one is dead. */
  alive = true
  #queue: Queued[] = []
  #queuedBytes = 0
  #pumping = false
  /** Whether the socket is paused now: the sum of the reasons below (and the host-wide budget). */
  #paused = false
  /** Backpressure: too many frames (or bytes) queued on this connection. */
  #queueFull = false
  /** Reply bytes handed to ws and not yet written out (send callbacks pending). */
  #unsent = 0
  /** Over MAX_OUTBOUND_BYTES: no reading, no new request carried out. */
  #outboundFull = false
  #outboundFullSince = 0
  #slowTimer: NodeJS.Timeout | undefined
  #killTimer: NodeJS.Timeout | undefined
  /** Resolved when unsent bytes fall back under MAX_OUTBOUND_BYTES (or the socket closes): what the pump waits for. */
  #roomWaiters: (() => void)[] = []
  readonly #meter: InboundMeter
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
    /** The `session_id` of the upgrade URL (PROTOCOL.md §8): for the balancer, and logged; the init stays the authority. */
    readonly routeHint?: string,
  ) {
    this.openedAt = ctx.now()
    this.address = remoteAddress
    this.log = ctx.log.child({ conn_id: this.id })
    this.#bucket = new TokenBucket(ctx.config.rateLimitPerSec, ctx.config.rateLimitBurst, this.openedAt)
    this.#meter = ctx.inbound.attach(this, rawSocketOf(socket))
    socket.on('message', (data, isBinary) => this.#receive(data, isBinary))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', (code) => this.#closedBy(code))
    // What a client sent is its own mistake, never a host fault: this listener
    // alone classifies socket errors (server.ts gives @fastify/websocket a
    // handler that leaves them to it).
    socket.on('error', (err) => this.#socketError(err))
    this.log.info({ event: 'connection.opened', remote: remoteAddress, ...(routeHint === undefined ? {} : { route_hint: routeHint }) }, 'connection opened')
    // The host may be over its inbound budget already.
    this.#updateReading()
  }

  get open(): boolean {
    return !this.#closing && !this.#closed
  }

  /**
   * Writes one frame. Unsent bytes are counted until ws's send callback says
   * they were written to the socket: that callback runs for every send, with
   * an error if the socket went first, whereas bufferedAmount would have to be
   * polled. Notices go out even over the limit (they are small).
   */
  write(text: string): void {
    if (!this.open) return
    const n = Buffer.byteLength(text)
    this.#unsent += n
    this.ctx.metrics.outboundBytes.inc(n)
    this.socket.send(text, () => this.#sent(n))
    if (!this.#outboundFull && this.#unsent > this.ctx.config.maxOutboundBytes) this.#outboundFilled()
  }

  /** True when this connection would read if the inbound budget let it. */
  get wantsToRead(): boolean {
    return this.open && !this.#draining && !this.#queueFull && !this.#outboundFull
  }

  /** The inbound budget's verdict may have changed. */
  budgetChanged(): void {
    this.#updateReading()
  }

  /** This connection alone could read (the host is over its inbound budget) and did not complete its frame in time. */
  stalled(partialBytes: number, ms: number): void {
    if (!this.open) return
    this.ctx.metrics.slowSenders.inc()
    this.log.warn(
      { event: 'connection.slow_sender', partial_bytes: partialBytes, limit: this.ctx.config.maxInflightBytes, ms },
      'over the inbound budget, this connection alone could read and did not complete its frame: closing',
    )
    this.#closeSlow(CLOSE_TRY_AGAIN, 'frame not completed in time')
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
    this.#updateReading()
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
    this.#dropQueue()
    // Reading must go on, or the peer's close frame is never seen and ws waits
    // its full close timeout; frames that still arrive are dropped (#receive).
    this.#draining = true
    this.#updateReading()
    this.socket.close(code, reason)
  }

  terminate(): void {
    this.socket.terminate()
  }

  get #busy(): boolean {
    return !this.#closed && (this.#pumping || this.#queue.length > 0)
  }

  /**
   * Pauses or resumes the socket so that it reads only when no reason holds:
   * shutdown drain, a full queue, unsent replies over MAX_OUTBOUND_BYTES, or
   * the host-wide inbound budget. A closing socket always reads, so the
   * peer's close frame is seen.
   */
  #updateReading(): void {
    if (this.#closed) return
    const closing = this.#closing || this.socket.readyState !== this.socket.OPEN
    const pause = !closing && (this.#draining || this.#queueFull || this.#outboundFull || !this.ctx.inbound.mayRead(this.#meter))
    if (pause === this.#paused) return
    this.#paused = pause
    if (pause) this.socket.pause()
    else this.socket.resume()
  }

  #receive(data: RawData, isBinary: boolean): void {
    this.alive = true
    const wireBytes = this.#meter.take()
    if (this.#draining) return this.#meter.release(wireBytes) // shutting down: only what was queued before is answered
    this.#frames++
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    this.#queue.push({ data: buf, isBinary, throttleMs: this.#bucket.take(this.ctx.now()), wireBytes })
    this.#queuedBytes += buf.length
    // Backpressure: stop reading from a client that sends faster than we serve
    // it, by count and by bytes (a few maximal frames are enough to wait on).
    if (!this.#queueFull && (this.#queue.length >= this.ctx.config.connectionQueueMax || this.#queuedBytes >= 2 * this.ctx.config.maxFrameBytes)) {
      this.#queueFull = true
      this.#updateReading()
      this.log.debug({ event: 'connection.paused', queued: this.#queue.length, queued_bytes: this.#queuedBytes }, 'queue full: reading paused')
    }
    if (!this.#pumping) void this.#pump()
  }

  #resumeIfRoom(): void {
    if (!this.#queueFull || this.#draining) return
    if (this.#queue.length > this.ctx.config.connectionQueueMax / 2 || this.#queuedBytes >= this.ctx.config.maxFrameBytes) return
    this.#queueFull = false
    this.#updateReading()
    this.log.debug({ event: 'connection.resumed', queued: this.#queue.length, queued_bytes: this.#queuedBytes }, 'queue half empty: reading resumed')
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    try {
      while (!this.#closed) {
        // A client that does not read its replies gets no new request carried out until it does.
        while (this.#outboundFull && !this.#closed) await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
        const item = this.#queue.shift()
        if (this.#closed || item === undefined) break
        this.#queuedBytes -= item.data.length
        try {
          await this.owner.deliver(this, await routeFrame(this.ctx, this, item.data, item.isBinary, item.throttleMs))
        } catch (err) {
          // Dispatch answers its own failures and sending its own faults; reaching here is a bug, and the connection must survive it.
          this.log.error({ event: 'frame.fault', err }, 'unhandled fault while handling a frame')
        } finally {
          this.#meter.release(item.wireBytes)
        }
        this.#resumeIfRoom()
      }
    } finally {
      this.#pumping = false
      this.#wake()
    }
  }

  #dropQueue(): void {
    for (const item of this.#queue) this.#meter.release(item.wireBytes)
    this.#queue = []
    this.#queuedBytes = 0
  }

  /** Unsent bytes passed MAX_OUTBOUND_BYTES: stop reading and serving; close the connection if it stays so for SLOW_CLIENT_MS. */
  #outboundFilled(): void {
    this.#outboundFull = true
    this.#outboundFullSince = this.ctx.now()
    this.#meter.setStuck(true)
    this.ctx.metrics.outboundPaused.inc()
    this.#updateReading()
    this.log.debug({ event: 'connection.outbound_paused', unsent_bytes: this.#unsent, limit: this.ctx.config.maxOutboundBytes }, 'replies not read: requests held')
    const slowMs = this.ctx.config.slowClientMs
    this.#slowTimer = setTimeout(() => {
      this.#slowTimer = undefined
      if (!this.#outboundFull || !this.open) return
      this.ctx.metrics.slowConsumers.inc()
      this.log.warn(
        { event: 'connection.slow_consumer', unsent_bytes: this.#unsent, limit: this.ctx.config.maxOutboundBytes, ms: this.ctx.now() - this.#outboundFullSince },
        'replies not read for too long: closing',
      )
      this.#closeSlow(CLOSE_POLICY, 'replies not read')
    }, slowMs)
    this.#slowTimer.unref()
  }

  /** ws wrote `n` bytes of one send out to the socket (or the socket went). */
  #sent(n: number): void {
    if (this.#closed) return // already subtracted at close
    this.#unsent -= n
    this.ctx.metrics.outboundBytes.dec(n)
    if (this.#outboundFull && this.#unsent <= this.ctx.config.maxOutboundBytes) {
      this.#outboundFull = false
      clearTimeout(this.#slowTimer)
      this.#slowTimer = undefined
      this.#meter.setStuck(false)
      this.log.debug({ event: 'connection.outbound_resumed', unsent_bytes: this.#unsent, ms: this.ctx.now() - this.#outboundFullSince }, 'replies read: requests served again')
      this.#updateReading()
      this.#wakeRoom()
    }
  }

  #wakeRoom(): void {
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const resolve of waiters) resolve()
  }

  /** Closes a slow client, and cuts its socket if it has not answered the close frame shortly after (it may not read at all). */
  #closeSlow(code: number, reason: string): void {
    this.close(code, reason)
    this.#killTimer = setTimeout(() => this.socket.terminate(), SLOW_CLOSE_WAIT_MS)
    this.#killTimer.unref()
  }

  /**
   * A ws error is about what the client sent (ws emits none for the socket
   * itself: it destroys it on ECONNRESET and the like, and 'close' follows).
   * ws has already begun the close with the matching code.
   */
  #socketError(err: Error & { code?: string }): void {
    this.#meter.stop()
    const code = err.code
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      const size = this.#meter.tooLarge
      this.log.warn({ event: 'frame.too_large', ...(size === undefined ? {} : { size }), limit: this.ctx.config.maxFrameBytes }, 'frame over MAX_FRAME_BYTES: closing (1009)')
    } else if (code?.startsWith('WS_ERR_')) {
      this.log.warn({ event: 'connection.protocol_error', code, err: { message: err.message } }, 'websocket protocol error from the client: closing')
    } else {
      this.log.info({ event: 'connection.error', ...(code === undefined ? {} : { code }), err: { message: err.message } }, 'socket error')
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
    this.#dropQueue()
    this.#meter.detach()
    clearTimeout(this.#slowTimer)
    clearTimeout(this.#killTimer)
    this.ctx.metrics.outboundBytes.dec(this.#unsent)
    this.#unsent = 0
    this.#outboundFull = false
    this.#wakeRoom()
    this.log.info({ event: 'connection.closed', code, frames: this.#frames, ms: this.ctx.now() - this.openedAt }, 'connection closed')
    this.#wake()
    this.owner.closed(this)
  }
}
