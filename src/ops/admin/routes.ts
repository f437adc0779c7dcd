// The admin API's routes (docs/OPERATIONS.md#admin-api). Input is checked by
// JSON schema before any handler runs, so bad input changes nothing; every
// action is logged as `admin.<action>` with the caller's address and counted.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { SessionStatus } from '@rag-session-host/client/shared'
import type { HostContext, HostSession } from '../../dispatch/context.js'
import { badRequest } from './errors.js'
import { dropSession, endSession, recoverStuck, reset, type Notify } from './actions.js'
import { DEFAULT_PAGE, MAX_PAGE, STATUSES, findSession, listSessions } from './sessions.js'
import { hostStats, sessionView, type StatsDeps } from './views.js'

export interface AdminRouteDeps extends StatsDeps {
  notify: Notify
}

const refParams = {
  type: 'object',
  required: ['ref'],
  properties: { ref: { type: 'string', minLength: 1, maxLength: 130 } },
} as const

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: STATUSES },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
    cursor: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const

const sweepBody = {
  type: 'object',
  required: ['idle_ms'],
  additionalProperties: false,
  properties: { idle_ms: { type: 'integer', minimum: 0 } },
} as const

/**
 * Fastify's validator drops unknown properties silently; in a query that is
 * usually a typo (`?statu=detached` would list every session), so it is refused.
 */
function onlyKnown(known: readonly string[]): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    const unknown = Object.keys(req.query as object).find((k) => !known.includes(k))
    if (unknown !== undefined) throw badRequest(`unknown query parameter ${JSON.stringify(unknown.slice(0, 40))}; known: ${known.join(', ')}`)
  }
}

export function registerAdminRoutes(app: FastifyInstance, ctx: HostContext, deps: AdminRouteDeps): void {
  const act = (req: FastifyRequest, action: string, fields: Record<string, unknown>, msg: string): void => {
    ctx.metrics.adminActions.inc({ action })
    req.log.info({ event: `admin.${action}`, remote: req.ip, ...fields }, msg)
  }
  const ids = (s: HostSession) => ({ session_id: s.id, session_seq: s.seq })

  app.get('/stats', async () => hostStats(ctx, deps))

  app.get<{ Querystring: { status?: SessionStatus; limit?: number; cursor?: string } }>(
    '/sessions',
    { schema: { querystring: listQuery }, preValidation: onlyKnown(Object.keys(listQuery.properties)) },
    async (req) => listSessions(ctx, req.query),
  )

  app.get<{ Params: { ref: string } }>('/sessions/:ref', { schema: { params: refParams } }, async (req) => sessionView(findSession(ctx, req.params.ref)))

  app.post<{ Params: { ref: string } }>('/sessions/:ref/end', { schema: { params: refParams } }, async (req) => {
    const session = findSession(ctx, req.params.ref)
    const ended = await endSession(ctx, session, deps.notify)
    act(req, 'end', { ...ids(session), changed: ended, connections: session.connections.size }, 'session ended by an operator')
    return sessionView(session)
  })

  app.delete<{ Params: { ref: string } }>('/sessions/:ref', { schema: { params: refParams } }, async (req) => {
    const session = findSession(ctx, req.params.ref)
    const connections = session.connections.size
    const dropped = await dropSession(ctx, session, 'admin')
    act(req, 'evict', { ...ids(session), dropped, connections }, 'session evicted by an operator')
    return { dropped: dropped ? 1 : 0 }
  })

  app.post<{ Body: { idle_ms: number } }>('/sweep', { schema: { body: sweepBody } }, async (req) => {
    const abandoned = await recoverStuck(ctx, req.body.idle_ms)
    act(req, 'sweep', { idle_ms: req.body.idle_ms, abandoned: abandoned.length, session_seqs: abandoned.map((a) => a.seq) }, 'stuck sessions recovered')
    return { abandoned }
  })

  app.post('/reset', async (req) => {
    const connections = ctx.connections.size
    const dropped = await reset(ctx)
    act(req, 'reset', { dropped, connections }, 'host reset by an operator: every session dropped')
    return { dropped }
  })
}
