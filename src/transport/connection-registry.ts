// The open connections, and what must happen to host state when one closes
// or when the session it is bound to is dropped.
import type { HostContext, HostSession } from '../dispatch/context.js'
import { statusNotice } from '../protocol/replies.js'
import type { Connection } from './connection.js'

export class ConnectionRegistry extends Map<string, Connection> {
  /** A closed socket's key is forgotten at once and its session no longer counts it. */
  closed(ctx: HostContext, conn: Connection): void {
    if (!this.delete(conn.id)) return
    ctx.metrics.connections.dec()
    const sessionId = ctx.keys.forget(conn.id)
    const session = sessionId === undefined ? undefined : ctx.sessions.get(sessionId)
    if (session) ctx.sessions.unbind(session, conn.id)
  }

  /** A dropped session's connections are told (`evicted`), then lose their key for it. */
  sessionDropped(ctx: HostContext, session: HostSession, reason: string): void {
    for (const id of session.connections) {
      const conn = this.get(id)
      if (!conn) continue
      void conn
        .sendSealed(null, session.id, statusNotice('evicted', reason))
        .catch(() => false)
        .finally(() => {
          if (ctx.keys.get(id, session.id)) ctx.keys.forget(id)
        })
    }
    session.connections.clear()
  }
}
