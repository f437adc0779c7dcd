// sessionInfo, endSession and ping.
import { sessionStatusFields } from '../session-view.js'
import type { Operation } from './operation.js'

export const sessionInfo: Operation = {
  changesSession: false,
  handle({ session }) {
    return sessionStatusFields(session)
  },
}

export const endSession: Operation = {
  changesSession: false, // ending an ended session answers the same reply
  async handle({ host, conn, session, log }) {
    if (!session.ended) {
      host.sessions.end(session)
      log.info({ event: 'session.ended_by_client' }, 'session ended by client')
      // Every other connection bound to the session hears of it, under its own key.
      await Promise.all(
        [...session.connections]
          .filter((id) => id !== conn.id)
          .map((id) => host.connections.get(id)?.sendSealed(null, session.id, { type: 'session_status', status: 'ended', reason: 'ended_by_client' })),
      )
    }
    return { status: 'ended' }
  },
}

export const ping: Operation = {
  changesSession: false,
  handle({ host }) {
    return { ts: host.now() }
  },
}
