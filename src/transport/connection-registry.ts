// The open connections, and what must happen to them and to host state when
// one closes, when the session they are bound to is dropped, and when the
// host stops.
import type { KeyStore } from '../crypto/key-store.js'
import type { HostSession } from '../dispatch/context.js'
import type { Outcome } from '../dispatch/outcome.js'
import type { HostMetrics } from '../ops/metrics.js'
import { evictedNotice, shuttingDownNotice } from '../protocol/replies.js'
import type { SessionDropReason, SessionStore } from '../sessions/session-store.js'
import type { SessionVectors } from '../vectors/index.js'
import type { Connection, ConnectionOwner } from './connection.js'
import type { Outbound } from './outbound.js'

/** WebSocket close code "going away", sent to clients at shutdown. */
const CLOSE_GOING_AWAY = 1001
const CLOSE_SERVICE_RESTART = 1012

export interface RegistryDeps {
  keys: KeyStore
  sessions: SessionStore<SessionVectors>
  metrics: HostMetrics
  outbound: Outbound
}

export class ConnectionRegistry extends Map<string, Connection> implements ConnectionOwner {
  readonly #deps: RegistryDeps

  constructor(deps: RegistryDeps) {
    super()
    this.#deps = deps
  }

  async deliver(conn: Connection, { reply, notices = [] }: Outcome): Promise<void> {
    for (const n of notices) {
      const to = this.get(n.connectionId)
      if (to) this.#deps.outbound.notice(to, n.sessionId, n.body)
    }
    await this.#deps.outbound.reply(conn, reply)
  }

  /** A closed socket's key is forgotten at once and its session no longer counts it. */
  closed(conn: Connection): void {
    if (!this.delete(conn.id)) return
    if (this.size === 0) this.#onEmpty?.()
    const { keys, sessions, metrics } = this.#deps
    metrics.connections.dec()
    const sessionId = keys.forget(conn.id)
    const session = sessionId === undefined ? undefined : sessions.get(sessionId)
    if (session) sessions.unbind(session, conn.id)
  }

  /**
   * A dropped session's connections are told (`evicted`, PROTOCOL.md §4.9, sealed at once)
   * and lose their key for it in the same step: no request can be opened, or
   * its reply sealed, under the key of a session that is gone. At shutdown
   * they heard `shutting_down` instead.
   */
  sessionDropped(session: HostSession, reason: SessionDropReason): void {
    const { keys, outbound } = this.#deps
    for (const id of session.connections) {
      const conn = this.get(id)
      if (conn && reason !== 'shutdown') outbound.notice(conn, session.id, evictedNotice(reason))
      if (keys.get(id, session.id)) keys.forget(id)
      // Moved: the client reconnects (through the balancer) to the host that has it now; 1012 says "come back".
      if (conn && reason === 'moved') conn.close(CLOSE_SERVICE_RESTART, 'session moved to another host')
    }
    session.connections.clear()
  }

  /**
   * Answers what every client already sent (for at most `drainMs`), tells it,
   * and closes its socket with 1001. A peer that has not completed the close
   * handshake `closeMs` later (it stopped reading) is cut off: otherwise ws
   * waits 30 s for it and the shutdown runs out of grace before the journal
   * is flushed.
   */
  async shutdown(drainMs: number, closeMs: number): Promise<void> {
    const { keys, outbound } = this.#deps
    await Promise.all(
      [...this.values()].map(async (conn) => {
        await conn.drain(drainMs)
        const sessionId = keys.sessionOf(conn.id)
        if (sessionId !== undefined) outbound.notice(conn, sessionId, shuttingDownNotice())
        conn.close(CLOSE_GOING_AWAY, 'host shutting down')
      }),
    )
    if (this.size > 0) await this.#emptied(closeMs)
    for (const conn of this.values()) conn.terminate()
  }

  #onEmpty: (() => void) | undefined

  /** Resolves when the last connection has closed, or after `ms`. */
  #emptied(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#onEmpty = done
    })
  }
}
