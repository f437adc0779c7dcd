// The one place frames leave the host: every reply and notice is sealed here,
// under the key it is for, and written to its connection. A sealed reply whose
// key went while its request ran (the socket closed, or the session was
// dropped and its keys wiped) is answered in plaintext instead, so every
// request still gets exactly one reply (PROTOCOL.md §3.4).
import { encodeUtf8, type SessionStatusNotice } from '@rag-session-host/client/shared'
import type { ConnectionKey, KeyStore } from '../crypto/key-store.js'
import { sealBase64 } from '../crypto/secretbox.js'
import type { FrameOffload } from '../dispatch/frame-offload.js'
import type { Reply } from '../dispatch/outcome.js'
import type { HostMetrics } from '../ops/metrics.js'
import { ProtocolError } from '../protocol/errors.js'
import { initAccepted, initRejected, plainError, sealedEnvelope, type Sealed } from '../protocol/replies.js'

/** What sending needs of a connection. */
export interface OutboundConnection {
  readonly id: string
  /** False once the socket is closing: nobody is left to answer. */
  readonly open: boolean
  /** Writes one text frame (nothing once the socket is closing). */
  write(text: string): void
}

type SealedReply = Extract<Reply, { kind: 'sealed' }>

const sessionGone = (during: string): ProtocolError => new ProtocolError('no_session', `the session was dropped while the ${during} ran`)

export class Outbound {
  constructor(
    private readonly keys: KeyStore,
    private readonly offload: FrameOffload,
    private readonly metrics: HostMetrics,
  ) {}

  /** Sends a frame's one reply on the connection it came in on. */
  async reply(conn: OutboundConnection, reply: Reply): Promise<void> {
    switch (reply.kind) {
      case 'plain':
        return this.#write(conn, reply.frame)
      case 'init': {
        const key = this.keys.get(conn.id, reply.sessionId)
        if (!key) return this.#write(conn, initRejected(reply.id, sessionGone('init')))
        // The ack is a few hundred bytes: sealing inline costs microseconds.
        return this.#write(conn, initAccepted(reply.id, this.#sealInline(key, reply.info)))
      }
      case 'sealed':
        await this.#sealed(conn, reply)
        this.metrics.requestSeconds.observe({ op: reply.op }, Number(process.hrtime.bigint() - reply.startedAt) / 1e9)
    }
  }

  /**
   * Seals `body` under the connection's key for `sessionId` and sends it;
   * false when it holds none. Inline, and so at once: notices are small, and a
   * dropped session's notice must be sealed before its keys are wiped.
   */
  notice(conn: OutboundConnection, sessionId: string, body: SessionStatusNotice): boolean {
    const key = this.keys.get(conn.id, sessionId)
    if (!key) return false
    this.#write(conn, sealedEnvelope(null, sessionId, this.#sealInline(key, body)))
    return true
  }

  async #sealed(conn: OutboundConnection, { id, key, plaintext, op, log }: SealedReply): Promise<void> {
    let sealed: Sealed | undefined
    try {
      // Checked before sealing (a wiped key seals nothing the client can open) and after (it may go while the worker seals).
      if (this.keys.isCurrent(key)) sealed = await this.offload.seal(plaintext, key.key, conn.id)
    } catch (err) {
      if (!conn.open) return log().debug({ event: 'reply.dropped', op }, 'reply not sealed; the socket is closing')
      log().error({ event: 'reply.fault', op, err }, 'could not seal the reply')
      return this.#write(conn, plainError(id, err))
    }
    if (sealed && this.keys.isCurrent(key)) return this.#write(conn, sealedEnvelope(id, key.sessionId, sealed))
    // Its session was dropped under it: the connection had the evicted notice first.
    this.#write(conn, plainError(id, sessionGone('request')))
  }

  #sealInline(key: ConnectionKey, body: object): Sealed {
    return sealBase64(encodeUtf8(JSON.stringify(body)), key.key)
  }

  #write(conn: OutboundConnection, frame: object): void {
    conn.write(JSON.stringify(frame))
  }
}
