// What differs between Node and browsers, behind one small interface. Each
// entry point (index.node.ts, index.browser.ts) installs its platform once
// when it is imported; everything else asks platform() for it.
import type { FrameCrypto, InitCrypto, Secretbox } from './crypto/types.js'

/** The part of the WHATWG WebSocket the SDK uses; `ws` in Node implements it too. */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  /** `ws` only: drop the TCP connection without a closing handshake. */
  terminate?(): void
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void
}

export interface Platform {
  /** "node" or "browser". */
  readonly name: string
  /** Synchronous crypto for the frame building blocks. */
  readonly frameCrypto: FrameCrypto
  /** The crypto a SessionClient's inits use (possibly asynchronous). */
  readonly initCrypto: InitCrypto
  /** Seals and opens every message (synchronous, like the frame building blocks). */
  readonly secretbox: Secretbox
  createWebSocket(url: string): WebSocketLike
  /** Calls `listener` when the page is being closed; returns the unsubscribe. Absent outside browsers. */
  onPageHide?(listener: () => void): () => void
}

let installed: Platform | undefined

export function installPlatform(p: Platform): void {
  installed = p
}

export function platform(): Platform {
  if (!installed) throw new Error('@rag-session-host/client: no platform installed (import the package, not its internal modules)')
  return installed
}
