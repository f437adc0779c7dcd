// Finding sessions for operators: by id or `#seq`, and a list in seq order
// with an opaque cursor and a status filter.
import { isSessionId, type SessionStatus } from '@rag-session-host/client/shared'
import type { HostContext, HostSession } from '../../dispatch/context.js'
import { badRequest, notFound } from './errors.js'
import { sessionView, type SessionView } from './views.js'

export const STATUSES: readonly SessionStatus[] = ['active', 'detached', 'abandoned', 'ended']
export const MAX_PAGE = 500
export const DEFAULT_PAGE = 50

/** The session `ref` names (its id, or `#<seq>`); 404 when there is none, 400 when `ref` is neither. */
export function findSession(ctx: HostContext, ref: string): HostSession {
  if (ref.startsWith('#')) {
    const digits = ref.slice(1)
    if (!/^[1-9]\d{0,15}$/.test(digits)) throw badRequest('a #seq reference must be # followed by a positive number')
    const seq = Number(digits)
    for (const s of ctx.sessions.values()) if (s.seq === seq) return s
    throw notFound(`no session #${seq}`)
  }
  if (!isSessionId(ref)) throw badRequest('not a session id or #seq')
  const session = ctx.sessions.get(ref)
  if (!session) throw notFound('no such session')
  return session
}

// A cursor is the seq a page ended at, wrapped so clients treat it as opaque (a cluster may need more in it).
export const encodeCursor = (seq: number): string => Buffer.from(`s:${seq}`).toString('base64url')

function decodeCursor(cursor: string): number {
  const m = /^s:([1-9]\d{0,15})$/.exec(/^[A-Za-z0-9_-]{1,32}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '')
  if (!m?.[1]) throw badRequest('cursor is not one this host gave out')
  return Number(m[1])
}

export interface ListQuery {
  status?: SessionStatus
  limit?: number
  cursor?: string
}

export function listSessions(ctx: HostContext, q: ListQuery): { sessions: SessionView[]; next_cursor: string | null } {
  const after = q.cursor === undefined ? 0 : decodeCursor(q.cursor)
  const limit = q.limit ?? DEFAULT_PAGE
  const page: HostSession[] = []
  for (const s of ctx.sessions.values()) if (s.seq > after && (q.status === undefined || s.status === q.status)) page.push(s)
  page.sort((a, b) => a.seq - b.seq)
  const more = page.length > limit
  const shown = page.slice(0, limit)
  const last = shown.at(-1)
  return { sessions: shown.map(sessionView), next_cursor: more && last ? encodeCursor(last.seq) : null }
}
