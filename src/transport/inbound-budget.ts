// The host-wide budget of inbound bytes in flight (MAX_INFLIGHT_BYTES): every
// byte read from a client socket counts from the moment it is read until the
// frame it belongs to has been answered (or dropped, or its socket closed).
// That includes frames still arriving, which ws buffers whole before it emits
// them: without counting those, many clients each sending one large frame at
// once fill memory with partial frames that nothing ever answers.
//
// Past the budget the host stops reading from every socket until answered
// frames bring it back under. If nothing is queued or being handled anywhere
// (so nothing will ever release bytes), exactly one connection with a partial
// frame, the one furthest into its frame, is let through until that frame is
// complete. Accounted bytes stay at or under MAX_INFLIGHT_BYTES plus one
// maximal frame; a connection that holds that privilege and sends nothing for
// SENDER_IDLE_MS, or has not completed its frame in SLOW_CLIENT_MS, is told
// so (it is closed, see Connection), and the next one is let through.
//
// One job: account bytes and decide who may read. Connections pause and
// resume their own socket, composing this verdict with their own reasons.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import type { WebSocket } from 'ws'
import type { HostMetrics } from '../ops/metrics.js'

/** Largest chunk one 'data' event delivers: libuv reads TCP in 64 KiB buffers. */
export const READ_CHUNK_BYTES = 64 * 1024
/**
 * A privileged reader that sends nothing for this long (or SLOW_CLIENT_MS, if
 * shorter) is stalled: once we let it read, a client mid-frame has its bytes
 * ready in its socket, so silence is a slowloris, not a slow link.
 */
export const SENDER_IDLE_MS = 5000
/** Header of a maximal client frame: 2 bytes, 8 of extended length, 4 of mask. */
export const MAX_FRAME_HEADER_BYTES = 14

/** What the budget needs of the connection a meter belongs to. */
export interface BudgetReader {
  readonly id: string
  /** True when the connection would read if the budget allowed it (open, not paused for its own reasons). */
  readonly wantsToRead: boolean
  /** The budget's verdict for this connection may have changed: re-evaluate pause/resume. */
  budgetChanged(): void
  /** This connection held the reading privilege and sent nothing for SENDER_IDLE_MS, or did not complete its frame in SLOW_CLIENT_MS. */
  stalled(partialBytes: number, ms: number): void
}

export interface InboundBudgetOptions {
  /** MAX_INFLIGHT_BYTES. */
  limit: number
  /** MAX_FRAME_BYTES (ws's maxPayload), to report oversized frames. */
  maxFrameBytes: number
  /** SLOW_CLIENT_MS: longest a privileged reader may take to complete its frame. */
  slowClientMs: number
  metrics: HostMetrics
  log: Logger
}

/**
 * The raw TCP socket under a server-side ws WebSocket. ws offers no public
 * accessor; @fastify/websocket hands our route the request (req.raw.socket is
 * the same object) but the route builds the Connection from the WebSocket
 * alone. `_socket` is what ws's own pause()/resume() act on, set once by
 * setSocket() before the 'connection' event. Checked, so a change in ws fails
 * loudly (test/transport/inflight-budget.test.ts) rather than silently not counting.
 */
export function rawSocketOf(ws: WebSocket): Socket {
  const raw = (ws as unknown as { _socket?: Socket })._socket
  if (!raw || typeof raw.prependListener !== 'function') throw new Error('ws WebSocket has no underlying socket (ws internals changed?)')
  return raw
}

export class InboundBudget {
  readonly limit: number
  /** Reading stops when accounted bytes reach this: two read chunks under the limit, so the chunk that crosses it stays within. */
  readonly pauseAt: number
  /** And resumes at or under this (an eighth of the budget lower, so resuming is not a storm per answered frame). */
  readonly resumeAt: number
  readonly maxFrameBytes: number
  readonly #slowClientMs: number
  readonly #metrics: HostMetrics
  readonly #log: Logger
  readonly #meters = new Set<InboundMeter>()
  #total = 0
  #peak = 0
  /** Bytes of complete frames, queued or being handled: what will be released without reading more. */
  #releasable = 0
  #paused = false
  #privileged: InboundMeter | undefined
  #privilegeTimer: NodeJS.Timeout | undefined

  constructor(opts: InboundBudgetOptions) {
    this.limit = opts.limit
    this.maxFrameBytes = opts.maxFrameBytes
    this.pauseAt = opts.limit >= 4 * READ_CHUNK_BYTES ? opts.limit - 2 * READ_CHUNK_BYTES : Math.floor(opts.limit / 2)
    this.resumeAt = Math.max(0, this.pauseAt - Math.floor(opts.limit / 8))
    this.#slowClientMs = opts.slowClientMs
    this.#metrics = opts.metrics
    this.#log = opts.log
  }

  /** Bytes read and not yet answered, across connections. */
  get current(): number {
    return this.#total
  }

  /** The most `current` has been since the host started (or resetPeak). */
  get peak(): number {
    return this.#peak
  }

  /** True while the host has stopped reading (past the budget). */
  get paused(): boolean {
    return this.#paused
  }

  resetPeak(): void {
    this.#peak = this.#total
  }

  /** Starts counting what `raw` delivers, for `reader`. */
  attach(reader: BudgetReader, raw: Socket): InboundMeter {
    const meter = new InboundMeter(this, reader, raw)
    this.#meters.add(meter)
    return meter
  }

  /** May this meter's connection read now? */
  mayRead(meter: InboundMeter): boolean {
    return !this.#paused || this.#privileged === meter
  }

  // Called by meters only.

  /** A chunk was read: `read` bytes in, `released` of them already done with (control frames, bytes after a close), `completed` now in complete messages. */
  _chunk(meter: InboundMeter, read: number, released: number, completed: number): void {
    this.#total += read - released
    this.#releasable += completed
    if (this.#total > this.#peak) this.#peak = this.#total
    this.#metrics.inflightBytes.set(this.#total)
    if (completed > 0 && this.#privileged === meter) this.#revoke()
    if (!this.#paused && this.#total >= this.pauseAt) this.#pauseAll()
    this.#reconsider()
  }

  _released(n: number, releasable: number): void {
    this.#total -= n
    this.#releasable -= releasable
    this.#metrics.inflightBytes.set(this.#total)
    this.#reconsider()
  }

  _releasable(delta: number): void {
    this.#releasable += delta
    this.#reconsider()
  }

  _detached(meter: InboundMeter): void {
    this.#meters.delete(meter)
    if (this.#privileged === meter) this.#revoke(false)
    this.#reconsider()
  }

  #reconsider(): void {
    if (!this.#paused) return
    if (this.#total <= this.resumeAt) return this.#resumeAll()
    this.#grantIfStuck()
  }

  #pauseAll(): void {
    this.#paused = true
    this.#metrics.readsPaused.inc()
    this.#log.debug({ event: 'inbound.paused', bytes: this.#total, limit: this.limit, releasable: this.#releasable }, 'inbound bytes at the budget: reading paused')
    for (const m of this.#meters) m.reader.budgetChanged()
  }

  #resumeAll(): void {
    this.#paused = false
    if (this.#privileged) this.#revoke(false)
    this.#log.debug({ event: 'inbound.resumed', bytes: this.#total, limit: this.limit }, 'inbound bytes under the budget: reading resumed')
    for (const m of this.#meters) m.reader.budgetChanged()
  }

  /**
   * Nothing queued or being handled will release bytes: without a reader
   * let through, every partial frame would wait forever for the others.
   * The one furthest into its frame goes first: it needs the fewest bytes.
   */
  #grantIfStuck(): void {
    if (this.#privileged || this.#releasable > 0) return
    let best: InboundMeter | undefined
    for (const m of this.#meters) {
      if (m.partial > 0 && m.reader.wantsToRead && (!best || m.partial > best.partial)) best = m
    }
    if (!best) return
    this.#privileged = best
    const grantedAt = Date.now()
    const partial = best.partial
    const idleMs = Math.min(SENDER_IDLE_MS, this.#slowClientMs)
    best.lastDataAt = grantedAt // it was paused by us until now
    const check = (): void => {
      this.#privilegeTimer = undefined
      if (this.#privileged !== best) return
      const now = Date.now()
      if (now - best.lastDataAt >= idleMs || now - grantedAt >= this.#slowClientMs) return best.reader.stalled(best.partial, now - grantedAt)
      this.#privilegeTimer = setTimeout(check, Math.max(1, Math.min(best.lastDataAt + idleMs, grantedAt + this.#slowClientMs) - now))
      this.#privilegeTimer.unref()
    }
    this.#privilegeTimer = setTimeout(check, idleMs)
    this.#privilegeTimer.unref()
    this.#log.debug(
      { event: 'inbound.privileged', conn_id: best.reader.id, partial_bytes: partial, bytes: this.#total },
      'over the budget with nothing to answer: one partial frame may complete',
    )
    best.reader.budgetChanged()
  }

  #revoke(notify = true): void {
    const was = this.#privileged
    this.#privileged = undefined
    clearTimeout(this.#privilegeTimer)
    this.#privilegeTimer = undefined
    if (notify && was) was.reader.budgetChanged()
  }
}

/**
 * One connection's inbound bytes. Watches the raw socket ahead of ws (a
 * prepended 'data' listener, so a chunk is counted before ws parses it and
 * emits the messages it completes), and follows frame boundaries by reading
 * frame headers only: payload bytes are counted, never copied. Bytes are
 * `partial` until the message they belong to is complete, then `waiting`
 * until ws emits it (take()), then held by the connection until release().
 * Control frames (ping, pong, close) are released as soon as they are complete.
 */
export class InboundMeter {
  /** Bytes of the message (and frame header) still arriving. */
  partial = 0
  /** When this socket last delivered bytes (Date.now()): a privileged reader's progress. */
  lastDataAt = Date.now()
  /** Payload length a too-large frame declared (whole message so far, as ws counts it), once seen. */
  tooLarge: number | undefined
  /** Wire sizes of complete messages ws has not emitted yet. */
  readonly #waiting: number[] = []
  #waitingBytes = 0
  /** Bytes taken by the connection and not yet released. */
  #held = 0
  /** True while the connection cannot answer what it holds (its replies are not read): its held bytes release nothing soon. */
  #stuck = false
  /** No longer counting: ws stopped parsing (close frame, protocol error) or the socket closed. */
  #stopped = false
  readonly #onData = (chunk: Buffer): void => this.#consume(chunk)
  // Frame parsing state.
  readonly #header = Buffer.alloc(MAX_FRAME_HEADER_BYTES)
  #headerHave = 0
  #payloadLeft = 0
  #frameWire = 0
  #frameFin = false
  #frameOpcode = 0
  /** Wire bytes and payload bytes of the fragments of the current message so far. */
  #messageWire = 0
  #messagePayload = 0
  /** Set by the parser at a close frame or an oversized header: ws reads nothing after them. */
  #end = false

  constructor(
    private readonly budget: InboundBudget,
    readonly reader: BudgetReader,
    private readonly raw: Socket,
  ) {
    raw.prependListener('data', this.#onData)
  }

  /** Bytes the connection holds (taken, not released). */
  get held(): number {
    return this.#held
  }

  /** A message was emitted by ws: its wire size, now held by the connection until release(). */
  take(): number {
    const n = this.#waiting.shift() ?? 0
    this.#waitingBytes -= n
    this.#held += n
    return n
  }

  /** A held message was answered (or dropped). */
  release(n: number): void {
    if (n <= 0) return
    this.#held -= n
    this.budget._released(n, this.#stuck ? 0 : n)
  }

  /** The connection can (false) or cannot (true) answer what it holds until its client reads. */
  setStuck(stuck: boolean): void {
    if (stuck === this.#stuck) return
    this.#stuck = stuck
    const n = this.#held + this.#waitingBytes
    this.budget._releasable(stuck ? -n : n)
  }

  /** ws stopped parsing this socket (a protocol error): what is not held is released, later bytes are not counted. Idempotent. */
  stop(): void {
    this.#stopped = true
    this.raw.removeListener('data', this.#onData)
    const drop = this.partial + this.#waitingBytes
    if (drop === 0) return
    const releasable = this.#stuck ? 0 : this.#waitingBytes
    this.partial = 0
    this.#waiting.length = 0
    this.#waitingBytes = 0
    this.budget._released(drop, releasable)
  }

  /** The socket closed: stop counting and leave the budget (held bytes are released by the connection as it drops them). */
  detach(): void {
    this.stop()
    this.budget._detached(this)
  }

  #consume(chunk: Buffer): void {
    if (this.#stopped) return
    this.lastDataAt = Date.now()
    const { completed, released } = this.#parse(chunk)
    this.partial += chunk.length - completed - released
    let dropped = 0
    if (this.#end) {
      // ws reads nothing after a close frame or an oversized header (it discards until the socket closes): neither do we.
      dropped = this.partial
      this.partial = 0
      this.#stopped = true
      this.raw.removeListener('data', this.#onData)
    }
    this.budget._chunk(this, chunk.length, released + dropped, this.#stuck ? 0 : completed)
  }

  /** Follows frame boundaries through `chunk`: wire bytes of the messages it completed (now waiting), and of control frames it completed (done with). */
  #parse(chunk: Buffer): { completed: number; released: number } {
    let completed = 0
    let released = 0
    let i = 0
    while (i < chunk.length && !this.#end) {
      if (this.#payloadLeft > 0) {
        const n = Math.min(this.#payloadLeft, chunk.length - i)
        i += n
        this.#payloadLeft -= n
        if (this.#payloadLeft > 0) continue
      } else {
        // A header, possibly split across chunks: first 2 bytes, then as many as they announce.
        const need = this.#headerHave < 2 ? 2 : headerLength(this.#header)
        const n = Math.min(need - this.#headerHave, chunk.length - i)
        chunk.copy(this.#header, this.#headerHave, i, i + n)
        this.#headerHave += n
        i += n
        if (this.#headerHave < 2 || this.#headerHave < headerLength(this.#header)) continue
        if (!this.#frameStarted() || this.#payloadLeft > 0) continue
      }
      // The frame's last byte was read.
      const wire = this.#frameWire
      if (this.#frameOpcode >= 0x08) {
        // ws answers pings and pongs itself; after a close frame it reads nothing more.
        released += wire
        if (this.#frameOpcode === 0x08) this.#end = true
        continue
      }
      this.#messageWire += wire
      if (!this.#frameFin) continue
      this.#waiting.push(this.#messageWire)
      this.#waitingBytes += this.#messageWire
      completed += this.#messageWire
      this.#messageWire = 0
      this.#messagePayload = 0
    }
    return { completed, released }
  }

  /** A complete header is in #header: starts its frame. False if the frame is over the limit (parsing ends). */
  #frameStarted(): boolean {
    const h = this.#header
    const len7 = h[1]! & 0x7f
    const payload = len7 < 126 ? len7 : len7 === 126 ? h.readUInt16BE(2) : Number(h.readBigUInt64BE(2))
    this.#frameWire = headerLength(h) + payload
    this.#headerHave = 0
    this.#frameFin = (h[0]! & 0x80) !== 0
    this.#frameOpcode = h[0]! & 0x0f
    // As ws counts it (maxPayload): data frames add up over the fragments of one message.
    if (this.#frameOpcode < 0x08) {
      if (this.#messagePayload + payload > this.budget.maxFrameBytes) {
        this.tooLarge = this.#messagePayload + payload
        this.#end = true
        return false
      }
      this.#messagePayload += payload
    }
    this.#payloadLeft = payload
    return true
  }
}

/** Bytes of a client frame header, from its first two bytes. */
function headerLength(h: Buffer): number {
  const len7 = h[1]! & 0x7f
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1]! & 0x80) !== 0 ? 4 : 0)
}
