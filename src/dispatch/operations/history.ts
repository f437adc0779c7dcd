// appendMessage and getHistory.
import { badRequest } from '../../protocol/errors.js'
import { ROLES, type Role } from '@rag-session-host/client/shared'
import type { AttemptSelector } from '../../sessions/history.js'
import { optionalPositiveInt } from './fields.js'
import type { Operation } from './operation.js'

export const appendMessage: Operation = {
  changesSession: true,
  writes: true,
  handle(ctx) {
    const { host, session, request } = ctx
    const { role, content } = request
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw badRequest('role must be "user", "assistant" or "system"')
    if (typeof content !== 'string') throw badRequest('content must be a string')
    session.history.check(content)
    const message = { seq: session.history.nextSeq, attempt: session.attempt, role: role as Role, content, ts: host.now() }
    return {
      records: [{ t: 'message', s: session.id, ...message }],
      apply: () => {
        session.history.put(message)
        // ctx.log is built on first use: only when debug lines are written.
        if (ctx.peer.log.isLevelEnabled('debug'))
          ctx.log.debug({ event: 'history.appended', seq: message.seq, attempt: message.attempt, chars: content.length }, 'message appended')
        return { fields: { seq: message.seq, attempt: message.attempt } }
      },
    }
  },
}

function attemptSelector(value: unknown): AttemptSelector {
  if (value === undefined || value === null || value === 'current') return 'current'
  if (value === 'all') return 'all'
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value
  throw badRequest('attempt must be "current", "all" or an attempt number')
}

export const getHistory: Operation = {
  changesSession: false,
  writes: false,
  handle({ session, request }) {
    const messages = session.history.query({
      attempt: attemptSelector(request.attempt),
      currentAttempt: session.attempt,
      limit: optionalPositiveInt(request, 'limit'),
      beforeSeq: optionalPositiveInt(request, 'before_seq'),
    })
    return { fields: { attempt: session.attempt, messages } }
  },
}
