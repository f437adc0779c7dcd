// What operators do to sessions: end, evict, recover stuck ones, reset. Each
// is a change like a client's: in the session's turn (dispatch/change-queue),
// journaled before it is applied, so a restart keeps it and a journal that
// cannot write leaves everything as it was.
import type { SessionStatusNotice } from '@rag-session-host/client/shared'
import { commitThen } from '../../dispatch/commit.js'
import type { HostContext, HostSession } from '../../dispatch/context.js'
import { endedNotice } from '../../protocol/replies.js'

/** Sends a notice to one connection, sealed under its key for the session. */
export type Notify = (connectionId: string, sessionId: string, body: SessionStatusNotice) => void

/** The session as it is in the store now: it may have been dropped while the change waited its turn. */
const stillThere = (ctx: HostContext, s: HostSession): boolean => ctx.sessions.get(s.id) === s

/** Ends the session (read-only from now on) and tells its connections; true when it was not ended already. */
export function endSession(ctx: HostContext, session: HostSession, notify: Notify): Promise<boolean> {
  return run(ctx, session, () => {
    if (!stillThere(ctx, session) || session.ended) return false
    return commitThen(ctx, [{ t: 'status', s: session.id, status: 'ended', ts: ctx.now() }], () => {
      if (!stillThere(ctx, session)) return false
      ctx.sessions.end(session)
      for (const id of session.connections) notify(id, session.id, endedNotice('operator'))
      return true
    })
  })
}

/** Drops the session; its connections hear `evicted` before their keys go (the store's `dropped` event). */
export function dropSession(ctx: HostContext, session: HostSession, reason: 'admin' | 'reset'): Promise<boolean> {
  return run(ctx, session, () => {
    if (!stillThere(ctx, session)) return false
    return commitThen(ctx, [{ t: 'dropped', s: session.id, reason, ts: ctx.now() }], () => {
      if (!stillThere(ctx, session)) return false
      ctx.sessions.drop(session, reason)
      return true
    })
  })
}

export interface Recovered {
  seq: number
  session_id: string
  idle_ms: number
}

const idleFor = (ctx: HostContext, s: HostSession): number => ctx.now() - s.lastActiveAt
const stuck = (ctx: HostContext, s: HostSession, idleMs: number): boolean => s.status === 'detached' && idleFor(ctx, s) > idleMs

/**
 * The stuck-session recovery: every detached session idle longer than
 * `idleMs` becomes abandoned now, flagged `auto_recovered`, as its grace
 * would have made it. Its data stays (for RETENTION_MS); an init resumes it.
 */
export async function recoverStuck(ctx: HostContext, idleMs: number): Promise<Recovered[]> {
  const candidates = [...ctx.sessions.values()].filter((s) => stuck(ctx, s, idleMs))
  const done = await settleAll(
    candidates.map((session) =>
      run(ctx, session, () => {
        // Checked again in its turn: an init may have brought it back meanwhile.
        if (!stillThere(ctx, session) || !stuck(ctx, session, idleMs)) return undefined
        const idle = idleFor(ctx, session)
        return commitThen(ctx, [{ t: 'status', s: session.id, status: 'abandoned', ts: ctx.now() }], () => {
          if (!stillThere(ctx, session) || session.status !== 'detached') return undefined
          ctx.sessions.abandon(session)
          return { seq: session.seq, session_id: session.id, idle_ms: idle }
        })
      }),
    ),
  )
  return done.filter((r): r is Recovered => r !== undefined).sort((a, b) => a.seq - b.seq)
}

/** Drops every session (each one's connections told `evicted` first); how many were dropped. */
export async function reset(ctx: HostContext): Promise<number> {
  const dropped = await settleAll([...ctx.sessions.values()].map((s) => dropSession(ctx, s, 'reset')))
  return dropped.filter(Boolean).length
}

/** Waits for every change; then throws the first failure (the journal refused: those changes were not made, the others were). */
async function settleAll<T>(changes: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(changes)
  const failed = settled.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value)
}

function run<T>(ctx: HostContext, session: HostSession, fn: () => T | Promise<T>): Promise<T> {
  return Promise.resolve(ctx.changes.run(session.id, fn))
}
