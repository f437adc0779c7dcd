// What handling one frame gives back to transport: the frame's one reply, and
// the notices it raised for other connections. Plain values, built through
// protocol/: dispatch never seals or sends; transport/outbound.ts does both.
import type { Logger } from 'pino'
import type { PlainErrorFrame, SessionInitAck, SessionInitInfo, SessionStatusNotice } from '@rag-session-host/client/shared'
import type { ConnectionKey } from '../crypto/key-store.js'

export type Reply =
  /** Sent as it is: a plaintext error (PROTOCOL.md §3.3, §5) or a refused init. */
  | { kind: 'plain'; frame: PlainErrorFrame | SessionInitAck }
  /** An accepted init: `info` goes back sealed under the key it installed for `sessionId` (§2.3). */
  | { kind: 'init'; id: string; sessionId: string; info: SessionInitInfo }
  /**
   * A `<type>Response` (§3.4) as UTF-8 JSON, sealed under the key the request
   * came with. `op` and `startedAt` time the request until its reply is sent;
   * `log` is the request's logger.
   */
  | { kind: 'sealed'; id: string; key: ConnectionKey; plaintext: Uint8Array; op: string; startedAt: bigint; log: () => Logger }

/** A notice (§4.9) for one connection, sealed under its own key for `sessionId`. */
export interface Notice {
  connectionId: string
  sessionId: string
  body: SessionStatusNotice
}

export interface Outcome {
  reply: Reply
  /** Sent before the reply. */
  notices?: readonly Notice[]
}
