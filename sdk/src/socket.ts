// Socket I/O of one connection: opens a WebSocket (`ws` in Node, the global
// one in browsers), reports text frames and the close, and closes cleanly or
// at once. Nothing here knows the protocol.
import { HostError, describeError } from './errors.js'
import { platform, type WebSocketLike } from './platform.js'

const OPEN = 1
const CLOSE_GRACE_MS = 2_000
/** Close code of a connection dropped without a closing handshake (as ws and browsers report it). */
export const CLOSE_ABNORMAL = 1006

export interface SocketHandlers {
  text(data: string): void
  binary(): void
  close(code: number, reason: string): void
}

export class ClientSocket {
  #closed = false
  readonly #closeWaiters: (() => void)[] = []

  private constructor(
    readonly url: string,
    private readonly ws: WebSocketLike,
    private readonly handlers: SocketHandlers,
  ) {}

  /**
   * Resolves once the socket is open. Rejects with HostError `disconnected`
   * (refused, closed while opening, no handshake within `timeoutMs`, aborted
   * through `onAbortable`), or `bad_request` for a URL the runtime refuses.
   */
  static open(url: string, timeoutMs: number, handlers: SocketHandlers, onAbortable?: (abort: () => void) => void): Promise<ClientSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike
      try {
        ws = platform().createWebSocket(url)
      } catch (err) {
        reject(new HostError('bad_request', `cannot open ${url}: ${describeError(err)}`, { retryable: false, cause: err }))
        return
      }
      const socket = new ClientSocket(url, ws, handlers)
      let opening = true
      let lastError: unknown
      const fail = (err: HostError): void => {
        if (!opening) return
        opening = false
        clearTimeout(timer)
        socket.#closed = true
        dropSocket(ws)
        reject(err)
      }
      const timer = setTimeout(() => fail(new HostError('disconnected', `cannot open ${url}: no handshake within ${timeoutMs} ms`)), timeoutMs)
      onAbortable?.(() => fail(new HostError('disconnected', `opening ${url} was aborted`, { retryable: false })))
      ws.addEventListener('open', () => {
        if (!opening) return
        opening = false
        clearTimeout(timer)
        resolve(socket)
      })
      ws.addEventListener('error', (event: { error?: unknown; message?: unknown }) => {
        lastError = event.error ?? event.message
      })
      ws.addEventListener('message', (event: { data: unknown }) => {
        if (socket.#closed) return
        if (typeof event.data === 'string') handlers.text(event.data)
        else handlers.binary()
      })
      ws.addEventListener('close', (event: { code: number; reason: string }) => {
        if (opening) {
          const why = lastError === undefined ? `closed while opening (${event.code})` : describeError(lastError)
          fail(new HostError('disconnected', `cannot open ${url}: ${why}`, { cause: lastError }))
          return
        }
        socket.#reportClose(event.code, event.reason)
      })
    })
  }

  get open(): boolean {
    return !this.#closed && this.ws.readyState === OPEN
  }

  send(text: string): void {
    this.ws.send(text)
  }

  /** Drops the connection now, without a closing handshake; its close is reported as 1006. */
  terminate(): void {
    if (this.#closed) return
    // ws reports its own 1006 close event; a browser would wait for the peer, so we report it ourselves.
    const reportsItself = typeof this.ws.terminate === 'function'
    dropSocket(this.ws)
    if (!reportsItself) queueMicrotask(() => this.#reportClose(CLOSE_ABNORMAL, 'dropped by the client'))
  }

  /** Closes cleanly; drops the connection if the peer does not finish the closing handshake in time. */
  close(code = 1000, reason = 'client closed'): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.terminate(), CLOSE_GRACE_MS)
      ;(timer as { unref?: () => void }).unref?.()
      this.#closeWaiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
      try {
        this.ws.close(code, reason)
      } catch {
        this.terminate()
      }
    })
  }

  #reportClose(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    for (const resolve of this.#closeWaiters.splice(0)) resolve()
    this.handlers.close(code, reason)
  }
}

function dropSocket(ws: WebSocketLike): void {
  try {
    if (ws.terminate) ws.terminate()
    else ws.close(4000, 'dropped by the client')
  } catch {
    // Already closing: nothing left to drop.
  }
}
