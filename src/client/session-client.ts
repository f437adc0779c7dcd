// SessionClient: one WebSocket to the host, at most one bound session, typed
// operations, request correlation by id, timeouts, notices as events, and
// reconnection with a fresh session key. See docs/CLIENT.md.
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { decodeBase64 } from '../crypto/encoding.js'
import { KEY_BYTES } from '../crypto/nacl-sizes.js'
import {
  isSessionId,
  type HostInfo,
  type Metadata,
  type NoticeStatus,
  type OperationName,
  type Operations,
  type Role,
  type SessionInitInfo,
  type SessionStatusNotice,
} from '../protocol/messages.js'
import { backoffDelay } from './backoff.js'
import { endpoints, type Endpoints } from './endpoints.js'
import { HostError, isRetryableError } from './errors.js'
import { buildSessionInit, generateIdentity, openInitAck, openSealed, sealRequest, type Identity } from './frames.js'
import { fetchHostInfo } from './host-info.js'
import { encodeVectorBase64 } from './vector-codec.js'
import { isObject } from '../protocol/inbound.js'

export interface ReconnectOptions {
  /** Default true. */
  enabled?: boolean
  /** Backoff ceiling of the first attempt; default 100 ms. */
  initialDelayMs?: number
  /** Largest backoff ceiling; default 10 000 ms. */
  maxDelayMs?: number
  /** Attempts per disconnection before giving up; default Infinity. */
  maxAttempts?: number
}

export interface ConnectOptions {
  /** The host's public key (base64, 32 bytes), pinned: GET /v1/host is then skipped. */
  hostPublicKey?: string
  /** The client's Ed25519 identity; a fresh one by default (keep it to reopen your sessions later). */
  identity?: Identity
  /** Per request, including any wait for a reconnect; default 30 000 ms. */
  requestTimeoutMs?: number
  reconnect?: ReconnectOptions
  /** How vectors go on the wire: `vector_b64` (little-endian float32, default) or `vector` arrays. */
  vectorEncoding?: 'b64' | 'array'
}

export interface RequestOptions {
  /** Overrides the client's `requestTimeoutMs` for this request. */
  timeoutMs?: number
}

export type VectorInput = readonly number[] | Float32Array

export interface UploadVector {
  id: string
  vector?: VectorInput
  /** Already encoded; sent as is. */
  vector_b64?: string
  metadata?: Metadata | null
}

export interface SearchOptions {
  k?: number
  threshold?: number
  filter?: Operations['searchVectors']['request']['filter']
}

export interface DisconnectInfo {
  code: number
  reason: string
}

export interface ReconnectingInfo {
  attempt: number
  delayMs: number
}

export interface SessionClientEvents {
  /** A host notice (`session_status`): ended, evicted, shutting_down. */
  notice: [notice: SessionStatusNotice]
  /** The connection dropped unexpectedly; in-flight requests have been rejected. */
  disconnected: [info: DisconnectInfo]
  /** A reconnect attempt is scheduled after `delayMs`. */
  reconnecting: [info: ReconnectingInfo]
  /** Connected again; the bound session (if any) is re-initialised with a new key. Null when no session was bound. */
  reconnected: [info: SessionInitInfo | null]
  /** Something that concerns no request (an unreadable frame, a sealed notice that does not open). Only emitted while someone listens. */
  error: [error: Error]
  /** The client has stopped for good: `close()` was called (no argument), or it gave up (the reason). */
  closed: [reason: HostError | undefined]
}

type Response<N extends OperationName> = Operations[N]['response']

interface Pending {
  id: string
  kind: 'request' | 'init'
  /** Operation name; 'session_init' for inits. */
  type: string
  /** The session the caller meant. */
  target: string
  fields: Record<string, unknown>
  newAttempt: boolean
  /** Inits: the key K sent with the init. */
  sessionKey: Uint8Array | undefined
  /** Frame bytes once sent; undefined while queued. */
  sentBytes: number | undefined
  timer: NodeJS.Timeout | undefined
  resolve: (value: unknown) => void
  reject: (err: HostError) => void
}

interface Bound {
  id: string
  key: Uint8Array
  /** Counter of the last request sent under `key`. */
  counter: bigint
}

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_INITIAL_DELAY_MS = 100
const DEFAULT_MAX_DELAY_MS = 10_000
/** Close codes that blame what the client sent: protocol error, unsupported data, invalid payload, policy, too big. */
const CLIENT_FAULT_CLOSE_CODES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009])
/** After this many client-fault closes in a row (no successful reply in between), stop reconnecting. */
const MAX_CLIENT_FAULT_CLOSES = 3
const CLOSE_GRACE_MS = 2_000
const NOTICE_STATUSES: ReadonlySet<string> = new Set<NoticeStatus>(['ended', 'evicted', 'shutting_down'])


export class SessionClient extends EventEmitter<SessionClientEvents> {
  readonly identity: Identity
  readonly #endpoints: Endpoints
  readonly #pinnedKey: Uint8Array | undefined
  readonly #timeoutMs: number
  readonly #reconnect: Required<ReconnectOptions>
  readonly #vectorEncoding: 'b64' | 'array'
  readonly #idPrefix = `${randomBytes(4).toString('hex')}-`
  #seq = 0

  #hostInfo: HostInfo | undefined
  #hostKey: Uint8Array | undefined
  /** The open socket; undefined while disconnected. */
  #ws: WebSocket | undefined
  /** A socket being opened (so close() can abort it). */
  #connecting: WebSocket | undefined
  /** The session and key bound on #ws. */
  #bound: Bound | undefined
  /** The session last bound successfully; a reconnect re-inits it. */
  #lastBound: string | undefined
  /** The session new requests are meant for (the last openSession call). */
  #target: string | undefined
  /** An init sent and not yet answered: nothing else is sent until it is. */
  #initInFlight: Pending | undefined

  readonly #pending = new Map<string, Pending>()
  /** Not yet sent, in call order. Settled entries are skipped. */
  #queue: Pending[] = []

  #closed = false
  #closePromise: Promise<void> | undefined
  #reconnecting = false
  #faultCloses = 0
  #sleepTimer: NodeJS.Timeout | undefined
  #wakeSleep: (() => void) | undefined

  private constructor(url: string, opts: ConnectOptions) {
    super()
    this.#endpoints = endpoints(url)
    if (opts.hostPublicKey !== undefined) {
      const key = decodeBase64(opts.hostPublicKey, KEY_BYTES)
      if (!key) throw new TypeError('hostPublicKey must be base64 of 32 bytes')
      this.#pinnedKey = key
      this.#hostKey = key
    }
    this.identity = opts.identity ?? generateIdentity()
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#reconnect = {
      enabled: opts.reconnect?.enabled ?? true,
      initialDelayMs: opts.reconnect?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS,
      maxDelayMs: opts.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      maxAttempts: opts.reconnect?.maxAttempts ?? Infinity,
    }
    this.#vectorEncoding = opts.vectorEncoding ?? 'b64'
  }

  /**
   * Connects to a host. `url` is its base (`ws://host:port`, `http://host:port`,
   * optionally with a path prefix). Fetches GET /v1/host unless the key is
   * pinned, then opens the WebSocket at /v1/ws. Rejects (HostError
   * `disconnected` or `protocol_error`) when that fails: the first connection
   * is not retried.
   */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<SessionClient> {
    const client = new SessionClient(url, opts)
    const ws = await client.#openSocket()
    if (ws.readyState !== WebSocket.OPEN) throw new HostError('disconnected', 'the connection closed as it opened')
    client.#ws = ws
    return client
  }

  /** GET /v1/host as last fetched (undefined when the key is pinned). */
  get hostInfo(): HostInfo | undefined {
    return this.#hostInfo
  }

  get limits(): HostInfo['limits'] | undefined {
    return this.#hostInfo?.limits
  }

  /** The session requests go to (the last `openSession`), if any. */
  get sessionId(): string | undefined {
    return this.#target
  }

  /** True while the socket is open and not closed. */
  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Binds `sessionId` to this connection with a fresh ephemeral key and a
   * fresh session key K (creating the session if it does not exist). Calling
   * it again rotates the key. Requests made after this call go to this
   * session; they wait until the init is answered. On `ok: false` rejects
   * with the host's HostError, and the connection stays as it was.
   */
  openSession(sessionId: string, opts: { newAttempt?: boolean } & RequestOptions = {}): Promise<SessionInitInfo> {
    if (!isSessionId(sessionId)) {
      return Promise.reject(new HostError('bad_request', 'session id must match ^[A-Za-z0-9._:-]{1,128}$', { retryable: false }))
    }
    if (this.#closed) return Promise.reject(this.#closedError())
    this.#target = sessionId
    return this.#enqueue('init', 'session_init', sessionId, {}, opts.newAttempt ?? false, opts.timeoutMs) as Promise<SessionInitInfo>
  }

  /**
   * Sends one operation to the open session and resolves with the success
   * fields of its reply (without type, id, ok). Rejects with HostError: the
   * host's error, or `timeout`, `disconnected`, `no_session` (no session open
   * here), `limit_exceeded` (frame over the host's max_frame_bytes, not sent).
   */
  request<N extends OperationName>(type: N, fields: Operations[N]['request'], options?: RequestOptions): Promise<Response<N>>
  request(type: string, fields?: Record<string, unknown>, options?: RequestOptions): Promise<Record<string, unknown>>
  request(type: string, fields: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError())
    if (typeof type !== 'string' || type.length === 0) {
      return Promise.reject(new HostError('bad_request', 'operation type must be a non-empty string', { retryable: false }))
    }
    const target = this.#target
    if (target === undefined) {
      return Promise.reject(new HostError('no_session', 'no session is open: call openSession first', { retryable: false }))
    }
    return this.#enqueue('request', type, target, fields, false, options.timeoutMs)
  }

  uploadVectors(vectors: readonly UploadVector[], opts: { replace?: boolean } = {}): Promise<Response<'uploadVectors'>> {
    const items = vectors.map((v) => this.#encodeItem(v))
    const fields: Record<string, unknown> = { vectors: items }
    if (opts.replace !== undefined) fields.replace = opts.replace
    return this.request('uploadVectors', fields) as Promise<Response<'uploadVectors'>>
  }

  searchVectors(vector: VectorInput, opts: SearchOptions = {}): Promise<Response<'searchVectors'>> {
    const fields: Record<string, unknown> =
      this.#vectorEncoding === 'b64' ? { vector_b64: encodeVectorBase64(vector) } : { vector: Array.from(vector) }
    if (opts.k !== undefined) fields.k = opts.k
    if (opts.threshold !== undefined) fields.threshold = opts.threshold
    if (opts.filter !== undefined) fields.filter = opts.filter
    return this.request('searchVectors', fields) as Promise<Response<'searchVectors'>>
  }

  deleteVectors(ids: readonly string[]): Promise<Response<'deleteVectors'>> {
    return this.request('deleteVectors', { ids: [...ids] })
  }

  clearVectors(): Promise<Response<'clearVectors'>> {
    return this.request('clearVectors', {})
  }

  /** Not idempotent: a retry after `timeout` or `disconnected` may store the message twice. */
  appendMessage(role: Role, content: string): Promise<Response<'appendMessage'>> {
    return this.request('appendMessage', { role, content })
  }

  getHistory(opts: Operations['getHistory']['request'] = {}): Promise<Response<'getHistory'>> {
    return this.request('getHistory', { ...opts })
  }

  sessionInfo(): Promise<Response<'sessionInfo'>> {
    return this.request('sessionInfo', {})
  }

  endSession(): Promise<Response<'endSession'>> {
    return this.request('endSession', {})
  }

  ping(): Promise<Response<'ping'>> {
    return this.request('ping', {})
  }

  /**
   * Closes the connection for good. Every pending request rejects with
   * `disconnected` (not retryable); resolves once the socket is closed.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise
    this.#shutdown(undefined)
    const ws = this.#ws
    this.#ws = undefined
    this.#bound = undefined
    this.#closePromise = ws ? closeSocket(ws) : Promise.resolve()
    return this.#closePromise
  }

  // ---- internals ----

  #closedError(): HostError {
    return new HostError('disconnected', 'the client is closed', { retryable: false })
  }

  #encodeItem(v: UploadVector): Record<string, unknown> {
    const item: Record<string, unknown> = { id: v.id }
    if (v.vector_b64 !== undefined) item.vector_b64 = v.vector_b64
    else if (v.vector !== undefined) {
      if (this.#vectorEncoding === 'b64') item.vector_b64 = encodeVectorBase64(v.vector)
      else item.vector = Array.from(v.vector)
    }
    if (v.metadata !== undefined) item.metadata = v.metadata
    return item
  }

  #enqueue(
    kind: Pending['kind'],
    type: string,
    target: string,
    fields: Record<string, unknown>,
    newAttempt: boolean,
    timeoutMs: number | undefined,
    first = false,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = {
        id: `${this.#idPrefix}${++this.#seq}`,
        kind,
        type,
        target,
        fields,
        newAttempt,
        sessionKey: undefined,
        sentBytes: undefined,
        timer: undefined,
        resolve,
        reject,
      }
      const ms = timeoutMs ?? this.#timeoutMs
      p.timer = setTimeout(() => this.#onTimeout(p, ms), ms)
      this.#pending.set(p.id, p)
      if (first) this.#queue.unshift(p)
      else this.#queue.push(p)
      this.#pump()
    })
  }

  /** Removes `p` from the books; false when it was already settled. */
  #settle(p: Pending): boolean {
    if (!this.#pending.delete(p.id)) return false
    clearTimeout(p.timer)
    if (this.#initInFlight === p) this.#initInFlight = undefined
    return true
  }

  #fail(p: Pending, err: HostError): void {
    if (!this.#settle(p)) return
    if (p.kind === 'init') this.#initFailed(p)
    p.reject(err)
  }

  #succeed(p: Pending, value: unknown): void {
    if (!this.#settle(p)) return
    this.#faultCloses = 0
    p.resolve(value)
  }

  /** A failed openSession leaves requests pointed at the session still bound. */
  #initFailed(p: Pending): void {
    if (this.#target !== p.target) return
    if (this.#queue.some((q) => q.kind === 'init' && q.target === p.target && this.#pending.has(q.id))) return
    this.#target = this.#lastBound
  }

  #onTimeout(p: Pending, ms: number): void {
    const wasSentInit = p.kind === 'init' && this.#initInFlight === p
    this.#fail(p, new HostError('timeout', `no reply to ${p.type} within ${ms} ms`, { requestId: p.id }))
    if (wasSentInit) {
      // The host may still switch to this key later; we cannot know which key
      // it holds, so start over on a new connection (and a new key).
      this.#ws?.terminate()
    }
    this.#pump()
  }

  /** Sends queued frames while the connection can take them. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const ws = this.#ws
      if (!ws || ws.readyState !== WebSocket.OPEN || this.#initInFlight) return
      const p = this.#queue.shift() as Pending
      if (!this.#pending.has(p.id)) continue
      if (p.kind === 'init') {
        this.#sendInit(ws, p)
        continue
      }
      const bound = this.#bound
      if (!bound || bound.id !== p.target) {
        this.#fail(p, new HostError('no_session', `session ${p.target} is not open on this connection`, { requestId: p.id, retryable: false }))
        continue
      }
      this.#sendRequest(ws, bound, p)
    }
  }

  #sendInit(ws: WebSocket, p: Pending): void {
    const hostKey = this.#hostKey
    if (!hostKey) {
      this.#fail(p, new HostError('protocol_error', 'no host public key', { requestId: p.id, retryable: false }))
      return
    }
    const init = buildSessionInit({
      sessionId: p.target,
      requestId: p.id,
      hostPublicKey: hostKey,
      identity: this.identity,
      newAttempt: p.newAttempt,
    })
    p.sessionKey = init.sessionKey
    const text = JSON.stringify(init.frame)
    p.sentBytes = Buffer.byteLength(text)
    this.#initInFlight = p
    ws.send(text)
  }

  #sendRequest(ws: WebSocket, bound: Bound, p: Pending): void {
    const counter = bound.counter + 1n
    const request = Object.assign({ type: p.type, id: p.id }, p.fields, { type: p.type, id: p.id })
    const text = JSON.stringify(sealRequest({ sessionId: bound.id, request, key: bound.key, counter }))
    const bytes = Buffer.byteLength(text)
    const max = this.#hostInfo?.limits.max_frame_bytes
    if (typeof max === 'number' && bytes > max) {
      this.#fail(p, new HostError('limit_exceeded', `request frame is ${bytes} bytes; the host takes at most ${max}`, { requestId: p.id, retryable: false }))
      return
    }
    bound.counter = counter
    p.sentBytes = bytes
    ws.send(text)
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  #onMessage(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (ws !== this.#ws) return
    if (isBinary) {
      this.#emitError(new HostError('protocol_error', 'host sent a binary frame', { retryable: false }))
      return
    }
    let msg: unknown
    try {
      msg = JSON.parse(rawToString(data))
    } catch {
      msg = undefined
    }
    if (!isObject(msg)) {
      this.#emitError(new HostError('protocol_error', 'host sent a frame that is not a JSON object', { retryable: false }))
      return
    }
    const envelopeId = typeof msg.id === 'string' ? msg.id : undefined
    const p = envelopeId === undefined ? undefined : this.#pending.get(envelopeId)
    switch (msg.type) {
      case 'session_init_ack':
        if (p?.kind === 'init' && p.sessionKey) this.#onInitAck(p, msg, p.sessionKey)
        break
      case 'error': {
        const err = HostError.fromWire(msg.error, envelopeId ?? null)
        if (p && p.sentBytes !== undefined) this.#fail(p, err)
        else if (envelopeId === undefined) this.#emitError(err)
        break
      }
      case 'encrypted_message':
        this.#onSealed(msg, p)
        break
      default:
        // A frame type this client does not know (a newer host): ignore it.
        break
    }
    this.#pump()
  }

  #onInitAck(p: Pending, ack: Record<string, unknown>, key: Uint8Array): void {
    let info: SessionInitInfo
    try {
      info = openInitAck(ack, key)
    } catch (err) {
      this.#fail(p, err as HostError)
      return
    }
    // The host now holds K for this connection and restarts its counter.
    this.#bound = { id: p.target, key, counter: 0n }
    this.#lastBound = p.target
    this.#succeed(p, info)
  }

  #onSealed(frame: Record<string, unknown>, envelopePending: Pending | undefined): void {
    const bound = this.#bound
    if (!bound) {
      const err = new HostError('protocol_error', 'sealed frame on a connection without a session key', { retryable: false })
      if (envelopePending && envelopePending.sentBytes !== undefined) this.#fail(envelopePending, err)
      else this.#emitError(err)
      return
    }
    let plain: Record<string, unknown>
    try {
      plain = openSealed(frame, bound.key)
    } catch (err) {
      if (envelopePending && envelopePending.sentBytes !== undefined) this.#fail(envelopePending, err as HostError)
      else this.#emitError(err as Error)
      return
    }
    if (plain.type === 'session_status' && (plain.id === undefined || plain.id === null)) {
      if (typeof plain.status === 'string' && NOTICE_STATUSES.has(plain.status)) {
        this.emit('notice', { type: 'session_status', status: plain.status as NoticeStatus, reason: typeof plain.reason === 'string' ? plain.reason : '' })
      } else {
        this.#emitError(new HostError('protocol_error', `unknown session_status ${JSON.stringify(plain.status)}`, { retryable: false }))
      }
      return
    }
    // Correlate by the id inside (authenticated), not the envelope's.
    const id = typeof plain.id === 'string' ? plain.id : undefined
    const p = id === undefined ? undefined : this.#pending.get(id)
    if (!p || p.kind !== 'request' || p.sentBytes === undefined) return // late reply to a request that timed out
    if (plain.ok === false) {
      this.#fail(p, HostError.fromWire(plain.error, p.id))
    } else if (plain.ok === true && plain.type === `${p.type}Response`) {
      const { type: _type, id: _id, ok: _ok, ...fields } = plain
      this.#succeed(p, fields)
    } else {
      this.#fail(p, new HostError('protocol_error', `malformed reply to ${p.type}`, { requestId: p.id, retryable: false }))
    }
  }

  #onClose(ws: WebSocket, code: number, reasonBuf: Buffer): void {
    if (ws !== this.#ws) return
    this.#ws = undefined
    const reason = reasonBuf.toString('utf8')
    // Every request sent on this socket gets its answer now: a rejection.
    const sent = [...this.#pending.values()].filter((p) => p.sentBytes !== undefined)
    const tooBig = code === 1009 ? sent.reduce<Pending | undefined>((a, p) => (!a || (p.sentBytes ?? 0) > (a.sentBytes ?? 0) ? p : a), undefined) : undefined
    for (const p of sent) {
      if (p === tooBig) {
        // Whichever frame the host refused, the largest one in flight was at least as big.
        this.#fail(p, new HostError('limit_exceeded', `the host closed the connection (1009: frame too big) while this ${p.sentBytes}-byte request was in flight`, { requestId: p.id, retryable: false }))
      } else {
        this.#fail(p, new HostError('disconnected', `connection closed (${code}${reason ? `: ${reason}` : ''}) before the reply`, { requestId: p.id }))
      }
    }
    this.#bound = undefined
    this.#initInFlight = undefined
    if (this.#closed) return
    this.emit('disconnected', { code, reason })
    if (CLIENT_FAULT_CLOSE_CODES.has(code)) this.#faultCloses++
    if (!this.#reconnect.enabled) {
      this.#shutdown(new HostError('disconnected', `connection closed (${code}) and reconnect is disabled`, { retryable: false }))
    } else if (this.#faultCloses >= MAX_CLIENT_FAULT_CLOSES) {
      this.#shutdown(new HostError('disconnected', `the host closed the connection with code ${code} ${this.#faultCloses} times in a row; not reconnecting`, { retryable: false }))
    } else if (!this.#reconnecting) {
      void this.#reconnectLoop()
    }
  }

  async #reconnectLoop(): Promise<void> {
    this.#reconnecting = true
    try {
      for (let attempt = 1; !this.#closed; attempt++) {
        if (attempt > this.#reconnect.maxAttempts) {
          this.#shutdown(new HostError('disconnected', `gave up reconnecting after ${attempt - 1} attempts`, { retryable: false }))
          return
        }
        const delayMs = backoffDelay(attempt, this.#reconnect)
        this.emit('reconnecting', { attempt, delayMs })
        await this.#sleep(delayMs)
        if (this.#closed) return
        let ws: WebSocket
        try {
          ws = await this.#openSocket()
        } catch (err) {
          if (isRetryableError(err)) continue
          this.#shutdown(err instanceof HostError ? err : new HostError('disconnected', String(err), { retryable: false }))
          return
        }
        if (this.#closed) {
          ws.terminate()
          return
        }
        if (ws.readyState !== WebSocket.OPEN) continue
        this.#ws = ws
        const session = this.#lastBound
        if (session === undefined) {
          this.emit('reconnected', null)
          this.#pump()
          return
        }
        try {
          // Same attempt, new key; ahead of anything queued meanwhile.
          const info = (await this.#enqueue('init', 'session_init', session, {}, false, undefined, true)) as SessionInitInfo
          this.emit('reconnected', info)
          return
        } catch (err) {
          if (this.#closed) return
          if (!isRetryableError(err)) {
            this.#shutdown(err as HostError)
            return
          }
          if (this.#ws === ws) {
            this.#ws = undefined
            this.#bound = undefined
            ws.terminate()
          }
        }
      }
    } finally {
      this.#reconnecting = false
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(this.#sleepTimer)
        this.#sleepTimer = undefined
        this.#wakeSleep = undefined
        resolve()
      }
      this.#wakeSleep = wake
      this.#sleepTimer = setTimeout(wake, ms)
    })
  }

  /** Fetches host info (unless pinned) and opens a socket; resolves once it is open. */
  async #openSocket(): Promise<WebSocket> {
    if (!this.#pinnedKey) {
      const info = await fetchHostInfo(this.#endpoints.hostInfoUrl, this.#timeoutMs)
      this.#hostInfo = info
      this.#hostKey = decodeBase64(info.public_key, KEY_BYTES)
    }
    if (this.#closed) throw this.#closedError()
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.#endpoints.wsUrl, { handshakeTimeout: this.#timeoutMs })
      this.#connecting = ws
      const onOpenError = (err: Error): void => {
        cleanup()
        reject(new HostError('disconnected', `cannot open ${this.#endpoints.wsUrl}: ${err.message}`, { cause: err }))
      }
      const onOpenClose = (code: number): void => {
        cleanup()
        reject(new HostError('disconnected', `${this.#endpoints.wsUrl} closed while opening (${code})`))
      }
      const cleanup = (): void => {
        if (this.#connecting === ws) this.#connecting = undefined
        ws.off('error', onOpenError)
        ws.off('close', onOpenClose)
        ws.off('open', onOpen)
      }
      const onOpen = (): void => {
        cleanup()
        resolve(ws)
      }
      // The socket reports failures through 'close' (which follows every 'error').
      ws.on('error', () => undefined)
      ws.on('message', (data, isBinary) => this.#onMessage(ws, data, isBinary))
      ws.on('close', (code, reason) => this.#onClose(ws, code, reason))
      ws.once('open', onOpen)
      ws.once('error', onOpenError)
      ws.once('close', onOpenClose)
    })
  }

  /** Stops for good: no more reconnects, every pending request rejected. */
  #shutdown(reason: HostError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    this.#wakeSleep?.()
    this.#connecting?.terminate()
    this.#connecting = undefined
    const message = reason ? `the client stopped: ${reason.message}` : 'the client is closed'
    for (const p of [...this.#pending.values()]) {
      this.#fail(p, new HostError('disconnected', message, { requestId: p.id, retryable: false, cause: reason }))
    }
    this.#queue = []
    if (reason) {
      // Gave up: drop the socket too (close() does it itself).
      const ws = this.#ws
      this.#ws = undefined
      this.#bound = undefined
      if (ws) void closeSocket(ws)
    }
    this.emit('closed', reason)
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** Closes cleanly; terminates if the peer does not finish the closing handshake in time. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => {
    ws.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
    timer.unref()
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
    else ws.close(1000, 'client closed')
  })
}
