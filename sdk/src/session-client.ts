// SessionClient: the SDK's façade. One WebSocket to the host, at most one
// bound session, typed operations, notices as events, reconnection with a
// fresh session key. The parts it drives each do one job: socket.ts (I/O),
// requests.ts (the request book), inbound.ts (what a frame means),
// reconnect-policy.ts (when to reconnect), retry-policy.ts (when to send a
// request answered `unavailable` again). See docs/CLIENT.md.
import { Emitter } from './emitter.js'
import { endpoints, routedWsUrl, type Endpoints } from './endpoints.js'
import { HostError, isRetryableError } from './errors.js'
import { createSessionInit, generateIdentity, sealRequest, type Identity } from './frames.js'
import { fetchHostInfo } from './host-info.js'
import { readFrame, type Verdict } from './inbound.js'
import { platform } from './platform.js'
import { ReconnectPolicy, type ReconnectOptions } from './reconnect-policy.js'
import { RequestBook, type Pending } from './requests.js'
import { unavailableRetryDelay } from './retry-policy.js'
import { decodeBase64, encodeBase64Url, utf8Length } from './shared/encoding.js'
import { isSessionId, type HostInfo, type Metadata, type OperationName, type Operations, type Role, type SessionInitInfo, type SessionStatusNotice } from './shared/messages.js'
import { randomBytes } from './shared/nonce.js'
import { KEY_BYTES } from './shared/sizes.js'
import { CLOSE_ABNORMAL, ClientSocket } from './socket.js'
import { encodeVectorBase64 } from './vector-codec.js'

export type { ReconnectOptions } from './reconnect-policy.js'

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
  /** Browsers: close the client when the page is closed (`pagehide`), so the session goes `detached` at once. Default true. */
  closeOnPageHide?: boolean
  /**
   * The session you will open first, as the routing hint of the first
   * connection (`/v1/ws?session_id=<id>`, for a load balancer); it does not
   * open the session. Later connections name the session they re-open.
   */
  routeHint?: string
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
  /** A host notice (`session_status`): ended, evicted, shutting_down. After `evicted` with reason `moved` the client reconnects by itself. */
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

interface Bound {
  id: string
  key: Uint8Array
  /** Counter of the last request sent under `key`. */
  counter: bigint
}

const DEFAULT_TIMEOUT_MS = 30_000

/** The clock of deadlines and retries: monotonic, in Node and browsers alike. */
const now = (): number => performance.now()

/** `evicted` with reason `moved` (PROTOCOL.md §8.1): the session lives on another host now. */
const isMoved = (notice: SessionStatusNotice): boolean => notice.status === 'evicted' && notice.reason === 'moved'

export class SessionClient extends Emitter<SessionClientEvents> {
  readonly identity: Identity
  readonly #endpoints: Endpoints
  readonly #pinnedKey: Uint8Array | undefined
  readonly #timeoutMs: number
  readonly #policy: ReconnectPolicy
  readonly #vectorEncoding: 'b64' | 'array'
  readonly #firstRouteHint: string | undefined
  readonly #idPrefix = `${encodeBase64Url(randomBytes(4))}-`
  #seq = 0

  #hostInfo: HostInfo | undefined
  #hostKey: Uint8Array | undefined
  /** The open socket; undefined while disconnected. */
  #socket: ClientSocket | undefined
  /** Aborts a socket being opened (so close() can stop it). */
  #abortOpening: (() => void) | undefined
  /** The session and key bound on #socket. */
  #bound: Bound | undefined
  /** The session last bound successfully; a reconnect re-inits it. */
  #lastBound: string | undefined
  /** The session new requests are meant for (the last openSession call). */
  #target: string | undefined
  /** An init being built or sent and not yet answered: nothing else is sent until it is. */
  #initInFlight: Pending | undefined
  readonly #book = new RequestBook()
  /** Wakes the queue when a request waiting out `unavailable` may be sent again. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined

  #closed = false
  #closePromise: Promise<void> | undefined
  #reconnecting = false
  #sleepTimer: ReturnType<typeof setTimeout> | undefined
  #wakeSleep: (() => void) | undefined
  #unsubscribePageHide: (() => void) | undefined

  private constructor(url: string, opts: ConnectOptions) {
    super()
    this.#endpoints = endpoints(url)
    if (opts.hostPublicKey !== undefined) {
      const key = decodeBase64(opts.hostPublicKey, KEY_BYTES)
      if (!key) throw new HostError('bad_request', 'hostPublicKey must be base64 of 32 bytes', { retryable: false })
      this.#pinnedKey = key
      this.#hostKey = key
    }
    this.identity = opts.identity ?? generateIdentity()
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#policy = new ReconnectPolicy(opts.reconnect)
    this.#vectorEncoding = opts.vectorEncoding ?? 'b64'
    if (opts.routeHint !== undefined && !isSessionId(opts.routeHint)) {
      throw new HostError('bad_request', 'routeHint must be a session id (^[A-Za-z0-9._:-]{1,128}$)', { retryable: false })
    }
    this.#firstRouteHint = opts.routeHint
    if (opts.closeOnPageHide !== false) this.#unsubscribePageHide = platform().onPageHide?.(() => void this.close())
  }

  /**
   * Connects to a host. `url` is its base (`ws://host:port`, `http://host:port`,
   * optionally with a path prefix). Fetches GET /v1/host unless the key is
   * pinned, then opens the WebSocket at /v1/ws. Rejects with HostError
   * (`bad_request` for a bad URL or key, `disconnected` or `protocol_error`
   * when the host cannot be reached or spoken to): the first connection is not retried.
   */
  static async connect(url: string, opts: ConnectOptions = {}): Promise<SessionClient> {
    const client = new SessionClient(url, opts)
    let socket: ClientSocket
    try {
      socket = await client.#openSocket()
    } catch (err) {
      client.#unsubscribePageHide?.()
      throw err
    }
    if (!socket.open) {
      client.#unsubscribePageHide?.()
      throw new HostError('disconnected', 'the connection closed as it opened')
    }
    client.#socket = socket
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
    return this.#socket?.open === true
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Which crypto the client's inits run on: "node", "webcrypto" or "tweetnacl". */
  get cryptoBackend(): string {
    return platform().initCrypto.name
  }

  /** Which secretbox seals and opens the client's messages: "sodium" (libsodium, in Node when its optional package loads) or "tweetnacl". */
  get secretboxBackend(): string {
    return platform().secretbox.name
  }

  /**
   * Binds `sessionId` to this connection with a fresh ephemeral key and a
   * fresh session key K (creating the session if it does not exist). Calling
   * it again rotates the key. Requests made after this call go to this
   * session; they wait until the init is answered. On `ok: false` rejects
   * with the host's HostError, and the connection stays as it was (an init
   * answered `unavailable` is sent again first, as any request is).
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
   * An answer `unavailable` is not returned at once: the request is sent again
   * after the host's `retry_after_ms` until its timeout, then rejects with it.
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
    const fields: Record<string, unknown> = this.#vectorEncoding === 'b64' ? { vector_b64: encodeVectorBase64(vector) } : { vector: Array.from(vector) }
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
   * Closes the connection for good (a normal close, 1000: the host marks the
   * session `detached`). Every pending request rejects with `disconnected`
   * (not retryable); resolves once the socket is closed.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise
    this.#shutdown(undefined)
    const socket = this.#socket
    this.#socket = undefined
    this.#bound = undefined
    this.#closePromise = socket ? socket.close(1000, 'client closed') : Promise.resolve()
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
      const seq = ++this.#seq
      const ms = timeoutMs ?? this.#timeoutMs
      const p: Pending = {
        id: `${this.#idPrefix}${seq}`,
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
        order: first ? -seq : seq,
        deadline: now() + ms,
      }
      p.timer = setTimeout(() => this.#onTimeout(p, ms), ms)
      this.#book.add(p, first)
      this.#pump()
    })
  }

  #settle(p: Pending): boolean {
    if (!this.#book.settle(p)) return false
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
    this.#policy.succeeded()
    p.resolve(value)
  }

  /** A failed openSession leaves requests pointed at the session still bound. */
  #initFailed(p: Pending): void {
    if (this.#target !== p.target) return
    if (this.#book.initQueuedFor(p.target)) return
    this.#target = this.#lastBound
  }

  #onTimeout(p: Pending, ms: number): void {
    const wasSentInit = p.kind === 'init' && this.#initInFlight === p && p.sentBytes !== undefined
    // Waiting to be sent again after `unavailable`: that answer is the truth (not applied), not a timeout.
    const waited = p.sentBytes === undefined ? p.lastError : undefined
    this.#fail(p, waited ?? new HostError('timeout', `no reply to ${p.type} within ${ms} ms`, { requestId: p.id }))
    if (wasSentInit) {
      // The host may still switch to this key later; we cannot know which key
      // it holds, so start over on a new connection (and a new key).
      this.#socket?.terminate()
    }
    this.#pump()
  }

  /** Sends queued frames while the connection can take them. */
  #pump(): void {
    for (;;) {
      const socket = this.#socket
      if (!socket?.open || this.#initInFlight || !this.#book.hasQueued) return
      const head = this.#book.peek()
      if (!head) return
      // A retry after `unavailable` waits its time, and what was called after it waits behind it.
      const wait = (head.notBefore ?? 0) - now()
      if (wait > 0) return this.#wakeAfter(wait)
      const p = this.#book.next()
      if (!p) return
      if (p.kind === 'init') {
        this.#initInFlight = p
        void this.#sendInit(socket, p)
        continue
      }
      const bound = this.#bound
      if (!bound || bound.id !== p.target) {
        this.#fail(p, new HostError('no_session', `session ${p.target} is not open on this connection`, { requestId: p.id, retryable: false }))
        continue
      }
      this.#sendRequest(socket, bound, p)
    }
  }

  #wakeAfter(ms: number): void {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined
        this.#pump()
      },
      Math.max(1, Math.ceil(ms)),
    )
  }

  /**
   * A request (or init) the host answered `unavailable`: it goes back in its
   * place in the queue, to be sent again as a new frame once the wait that
   * retry-policy.ts gives has passed. False when it is to fail with `err`
   * now (another error, or its deadline would pass first).
   */
  #retryLater(p: Pending, err: HostError): boolean {
    const at = now()
    const delay = unavailableRetryDelay(err, (p.deadline ?? Infinity) - at)
    if (delay === undefined || !this.#book.has(p)) return false
    // The host changed nothing (a failed init leaves the connection's key as it was).
    if (this.#initInFlight === p) this.#initInFlight = undefined
    p.sentBytes = undefined
    p.sessionKey = undefined
    p.lastError = err
    p.notBefore = at + delay
    this.#book.requeueInOrder(p)
    return true
  }

  async #sendInit(socket: ClientSocket, p: Pending): Promise<void> {
    const hostKey = this.#hostKey
    if (!hostKey) {
      this.#fail(p, new HostError('protocol_error', 'no host public key', { requestId: p.id, retryable: false }))
      return
    }
    let init: Awaited<ReturnType<typeof createSessionInit>>
    try {
      init = await createSessionInit({ sessionId: p.target, requestId: p.id, hostPublicKey: hostKey, identity: this.identity, newAttempt: p.newAttempt }, platform().initCrypto)
    } catch (err) {
      this.#fail(p, new HostError('internal', `could not build the session init: ${(err as Error).message}`, { requestId: p.id, retryable: false, cause: err }))
      this.#pump()
      return
    }
    if (!this.#book.has(p)) return // timed out or failed while the crypto ran
    if (socket !== this.#socket || !socket.open) {
      // The connection dropped meanwhile: send it on the next one.
      if (this.#initInFlight === p) this.#initInFlight = undefined
      this.#book.requeue(p)
      return
    }
    p.sessionKey = init.sessionKey
    const text = JSON.stringify(init.frame)
    p.sentBytes = utf8Length(text)
    socket.send(text)
  }

  #sendRequest(socket: ClientSocket, bound: Bound, p: Pending): void {
    const counter = bound.counter + 1n
    const request = Object.assign({ type: p.type, id: p.id }, p.fields, { type: p.type, id: p.id })
    const text = JSON.stringify(sealRequest({ sessionId: bound.id, request, key: bound.key, counter }))
    const bytes = utf8Length(text)
    const max = this.#hostInfo?.limits.max_frame_bytes
    if (typeof max === 'number' && bytes > max) {
      this.#fail(p, new HostError('limit_exceeded', `request frame is ${bytes} bytes; the host takes at most ${max}`, { requestId: p.id, retryable: false }))
      return
    }
    bound.counter = counter
    p.sentBytes = bytes
    socket.send(text)
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  #onText(socket: ClientSocket, text: string): void {
    if (socket !== this.#socket) return
    this.#apply(readFrame(text, (id) => this.#book.get(id), this.#bound?.key))
    this.#pump()
  }

  #apply(v: Verdict): void {
    switch (v.kind) {
      case 'ignore':
        return
      case 'error':
        return this.#emitError(v.error)
      case 'fail':
        if (this.#retryLater(v.pending, v.error)) return
        return this.#fail(v.pending, v.error)
      case 'reply':
        return this.#succeed(v.pending, v.fields)
      case 'notice':
        if (isMoved(v.notice)) return this.#sessionMoved(v.notice)
        this.emit('notice', v.notice)
        return
      case 'bound':
        // The host now holds K for this connection and restarts its counter.
        this.#bound = { id: v.pending.target, key: v.key, counter: 0n }
        this.#lastBound = v.pending.target
        return this.#succeed(v.pending, v.info)
    }
  }

  /**
   * `evicted`/`moved`: the bound session lives on another host now. As after
   * a host that shuts down: emit the notice, drop this socket (nothing more is
   * sent on it; in-flight requests reject with `disconnected`), reconnect
   * through the same URL (the balancer) and re-init the session. The close
   * the host sends next (1012) is then ignored; neither counts as a fault.
   */
  #sessionMoved(notice: SessionStatusNotice): void {
    const socket = this.#socket
    socket?.terminate()
    this.emit('notice', notice)
    if (socket && socket === this.#socket) this.#onClose(socket, CLOSE_ABNORMAL, 'the session moved to another host')
  }

  #onClose(socket: ClientSocket, code: number, reason: string): void {
    if (socket !== this.#socket) return
    this.#socket = undefined
    // Every request sent on this socket gets its answer now: a rejection.
    const sent = this.#book.sent()
    const tooBig = code === 1009 ? sent.reduce<Pending | undefined>((a, p) => (!a || (p.sentBytes ?? 0) > (a.sentBytes ?? 0) ? p : a), undefined) : undefined
    for (const p of sent) {
      if (p === tooBig) {
        // Whichever frame the host refused, the largest one in flight was at least as big.
        this.#fail(
          p,
          new HostError('limit_exceeded', `the host closed the connection (1009: frame too big) while this ${p.sentBytes}-byte request was in flight`, {
            requestId: p.id,
            retryable: false,
          }),
        )
      } else {
        this.#fail(p, new HostError('disconnected', `connection closed (${code}${reason ? `: ${reason}` : ''}) before the reply`, { requestId: p.id }))
      }
    }
    // The re-init of a reconnect is for this socket alone: one not on the wire
    // (waiting out `unavailable`, or still being built) ends with it too, so
    // the reconnect loop that awaits it goes on to the next attempt.
    for (const p of this.#book.all()) {
      if (p.kind === 'init' && (p.order ?? 0) < 0 && p.sentBytes === undefined) {
        this.#fail(p, new HostError('disconnected', `connection closed (${code}${reason ? `: ${reason}` : ''}) before the re-init was sent`, { requestId: p.id }))
      }
    }
    this.#bound = undefined
    this.#initInFlight = undefined
    if (this.#closed) return
    this.emit('disconnected', { code, reason })
    const stop = this.#policy.afterClose(code)
    if (stop) this.#shutdown(stop)
    else if (!this.#reconnecting) void this.#reconnectLoop()
  }

  async #reconnectLoop(): Promise<void> {
    this.#reconnecting = true
    try {
      for (let attempt = 1; !this.#closed; attempt++) {
        const next = this.#policy.attempt(attempt)
        if ('giveUp' in next) {
          this.#shutdown(next.giveUp)
          return
        }
        this.emit('reconnecting', { attempt, delayMs: next.delayMs })
        await this.#sleep(next.delayMs)
        if (this.#closed) return
        let socket: ClientSocket
        try {
          socket = await this.#openSocket()
        } catch (err) {
          if (isRetryableError(err)) continue
          this.#shutdown(err instanceof HostError ? err : new HostError('disconnected', String(err), { retryable: false }))
          return
        }
        if (this.#closed) {
          socket.terminate()
          return
        }
        if (!socket.open) continue
        this.#socket = socket
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
          if (this.#socket === socket) {
            this.#socket = undefined
            this.#bound = undefined
            socket.terminate()
          }
        }
      }
    } finally {
      this.#reconnecting = false
      // A drop while this loop finished (a `moved` notice read right behind the
      // re-init's ack, in the same tick) found it running and started none.
      if (!this.#closed && this.#socket === undefined) void this.#reconnectLoop()
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

  /**
   * The session a connection opened now will (re-)open first, for its routing
   * hint: the one a reconnect re-inits, else the one an openSession still
   * waits to init, else the `routeHint` option. A connection keeps the hint
   * it was opened with: opening another session on it does not reconnect.
   */
  #routeHint(): string | undefined {
    return this.#lastBound ?? this.#target ?? this.#firstRouteHint
  }

  /** Fetches host info (unless pinned) and opens a socket; resolves once it is open. */
  async #openSocket(): Promise<ClientSocket> {
    if (!this.#pinnedKey) {
      const info = await fetchHostInfo(this.#endpoints.hostInfoUrl, this.#timeoutMs)
      this.#hostInfo = info
      this.#hostKey = decodeBase64(info.public_key, KEY_BYTES)
    }
    if (this.#closed) throw this.#closedError()
    let socket: ClientSocket | undefined
    const handlers = {
      text: (data: string) => socket && this.#onText(socket, data),
      binary: () => socket === this.#socket && this.#emitError(new HostError('protocol_error', 'host sent a binary frame', { retryable: false })),
      close: (code: number, reason: string) => socket && this.#onClose(socket, code, reason),
    }
    try {
      socket = await ClientSocket.open(routedWsUrl(this.#endpoints.wsUrl, this.#routeHint()), this.#timeoutMs, handlers, (abort) => (this.#abortOpening = abort))
    } finally {
      this.#abortOpening = undefined
    }
    return socket
  }

  /** Stops for good: no more reconnects, every pending request rejected. */
  #shutdown(reason: HostError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribePageHide?.()
    this.#wakeSleep?.()
    this.#abortOpening?.()
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    const message = reason ? `the client stopped: ${reason.message}` : 'the client is closed'
    for (const p of this.#book.all()) {
      this.#fail(p, new HostError('disconnected', message, { requestId: p.id, retryable: false, cause: reason }))
    }
    this.#book.clearQueue()
    if (reason) {
      // Gave up: drop the socket too (close() does it itself).
      const socket = this.#socket
      this.#socket = undefined
      this.#bound = undefined
      if (socket) void socket.close(1000, 'client closed')
    }
    this.emit('closed', reason)
  }
}
