// sessionInfo, endSession and ping.
import { endedNotice } from '../../protocol/replies.js'
import { sessionStatusFields } from '../session-view.js'
import type { Operation } from './operation.js'

export const sessionInfo: Operation = {
  changesSession: false,
  writes: false,
  handle({ session }) {
    return { fields: sessionStatusFields(session) }
  },
}

export const endSession: Operation = {
  changesSession: false, // ending an ended session answers the same reply
  writes: true,
  handle({ host, peer, session, log }) {
    if (session.ended) return { fields: { status: 'ended' } }
    return {
      records: [{ t: 'status', s: session.id, status: 'ended', ts: host.now() }],
      apply: () => {
        host.sessions.end(session)
        log.info({ event: 'session.ended_by_client' }, 'session ended by client')
        // Every other connection bound to the session hears of it, under its own key (PROTOCOL.md §4.9).
        const notices = [...session.connections].filter((id) => id !== peer.id).map((connectionId) => ({ connectionId, sessionId: session.id, body: endedNotice() }))
        return { fields: { status: 'ended' }, notices }
      },
    }
  },
}

export const ping: Operation = {
  changesSession: false,
  writes: false,
  handle({ host }) {
    return { fields: { ts: host.now() } }
  },
}
