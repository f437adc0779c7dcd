// One place that turns a record into a change of the in-memory state. The
// live path applies a change through it once its record is durable, and
// recovery replays the journal through it: so memory after a restart is what
// it was before, by construction.
import type { SessionStore } from '../sessions/session-store.js'
import type { Session } from '../sessions/session.js'
import type { SessionVectors } from '../vectors/index.js'
import type { JournalRecord } from './records.js'

export type HostStore = SessionStore<SessionVectors>
type HostSession = Session<SessionVectors>

/** What applying a record gave: the session it touched (recovery counts with it). */
export function applyRecord(store: HostStore, r: JournalRecord): HostSession | undefined {
  switch (r.t) {
    case 'created':
      return store.get(r.s) ?? store.create(r.s, r.seq, r.owner, r.ts, false, r.addr)
    case 'session':
      return store.get(r.s) ?? store.restore({ ...r, id: r.s })
    case 'snapshot_end':
      store.continueSeqFrom(r.nextSeq)
      return undefined
    case 'probe':
    case 'void':
      return undefined
    default:
      break
  }
  // Every other record changes a session that exists; one dropped since is skipped.
  const session = store.get(r.s)
  if (!session) return undefined
  switch (r.t) {
    case 'attempt':
      store.startAttempt(session, r.attempt)
      break
    case 'message':
      session.history.put({ seq: r.seq, attempt: r.attempt, role: r.role, content: r.content, ts: r.ts })
      break
    case 'messages':
      for (const m of r.list) session.history.put(m)
      return session
    case 'vectors':
      session.vectors.applyUpload(r)
      break
    case 'deleted':
      session.vectors.applyDelete(r.ids)
      break
    case 'cleared':
      session.vectors.clear()
      break
    case 'status':
      store.replayStatus(session, r.status, r.ts)
      return session
    case 'dropped':
      store.replayDrop(session)
      return session
  }
  session.lastActiveAt = Math.max(session.lastActiveAt, r.ts)
  return session
}
