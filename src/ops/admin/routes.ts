// The admin API's routes (docs/OPERATIONS.md#admin-api). Input is checked by
// JSON schema before any handler runs, strictly (index.ts: no type coercion,
// nothing dropped), so bad input changes nothing; every action is logged as
// `admin.<action>` with the caller's address and its outcome, and counted.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SessionStatus } from '@rag-session-host/client/shared'
import type { HostContext, HostSession } from '../../dispatch/context.js'
import { AdminError, badRequest, toAdminError } from './errors.js'
import { clusterView, isForwarded, listAll, sweepAll, toOwner } from './cluster-routes.js'
import { dropSession, endSession, recoverStuck, reset, type Notify } from './actions.js'
import { DEFAULT_PAGE, MAX_PAGE, STATUSES, encodeCursor, findSession, listSessions } from './sessions.js'
import { hostStats, sessionView, type StatsDeps } from './views.js'

/** Session ids named in one admin.sweep line (each recovered session has its own session.abandoned line too). */
const LOGGED_IDS = 100

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
    // A query holds strings: digits only, so `0x2`, `1e1` and ` 1` are not numbers here.
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const

const sweepBody = {
  type: 'object',
  required: ['idle_ms'],
  additionalProperties: false,
  properties: { idle_ms: { type: 'integer', minimum: 0 } },
} as const

function pageSize(limit: string | undefined): number {
  const n = limit === undefined ? DEFAULT_PAGE : Number(limit)
  if (n > MAX_PAGE) throw badRequest(`limit must be from 1 to ${MAX_PAGE}`)
  return n
}

export function registerAdminRoutes(app: FastifyInstance, ctx: HostContext, deps: AdminRouteDeps): void {
  /** Runs an action and logs it, done or refused (the journal could not take it: nothing was changed). */
  const act = async <T>(
    req: FastifyRequest,
    action: string,
    fields: Record<string, unknown>,
    msg: string,
    run: () => Promise<T>,
    result: (r: T) => Record<string, unknown>,
  ): Promise<T> => {
    let r: T
    try {
      r = await run()
    } catch (err) {
      const code = toAdminError(err).code
      ctx.metrics.adminActions.inc({ action, outcome: code })
      req.log.info({ event: `admin.${action}`, remote: req.ip, ...fields, outcome: code }, `${msg}: refused`)
      throw err
    }
    ctx.metrics.adminActions.inc({ action, outcome: 'ok' })
    req.log.info({ event: `admin.${action}`, remote: req.ip, ...fields, outcome: 'ok', ...result(r) }, msg)
    return r
  }
  const ids = (s: HostSession) => ({ session_id: s.id, session_seq: s.seq })
  const cluster = ctx.cluster
  /** In cluster mode, and not carried here by another host: the answer covers every host. */
  const clustered = (req: FastifyRequest): boolean => cluster !== undefined && !isForwarded(req)
  /** The session `ref` names on this host; undefined when another host of the cluster may hold it. */
  const here = (req: FastifyRequest, ref: string): HostSession | undefined => {
    try {
      return findSession(ctx, ref)
    } catch (err) {
      if (clustered(req) && err instanceof AdminError && err.code === 'not_found') return undefined
      throw err
    }
  }
  const elsewhere = (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => toOwner(cluster!, req, reply)

  app.get('/stats', async () => hostStats(ctx, deps))

  app.get<{ Querystring: { status?: SessionStatus; limit?: string; cursor?: string } }>('/sessions', { schema: { querystring: listQuery } }, async (req) => {
    const limit = pageSize(req.query.limit)
    const local = listSessions(ctx, { ...req.query, limit })
    return clustered(req) ? listAll(cluster!, req, local, limit, encodeCursor) : local
  })

  app.get<{ Params: { ref: string } }>('/sessions/:ref', { schema: { params: refParams } }, async (req, reply) => {
    const session = here(req, req.params.ref)
    return session ? sessionView(session) : elsewhere(req, reply)
  })

  app.get('/cluster', async () => {
    if (!cluster) throw new AdminError('not_found', 'this host is not in cluster mode (CLUSTER_REDIS_URL is unset)')
    return clusterView(ctx, cluster)
  })

  app.post<{ Params: { ref: string } }>('/sessions/:ref/end', { schema: { params: refParams } }, async (req, reply) => {
    const session = here(req, req.params.ref)
    if (!session) return elsewhere(req, reply)
    await act(
      req,
      'end',
      { ...ids(session), connections: session.connections.size },
      'session ended by an operator',
      () => endSession(ctx, session, deps.notify),
      (changed) => ({ changed }),
    )
    return sessionView(session)
  })

  app.delete<{ Params: { ref: string } }>('/sessions/:ref', { schema: { params: refParams } }, async (req, reply) => {
    const session = here(req, req.params.ref)
    if (!session) return elsewhere(req, reply)
    const fields = { ...ids(session), connections: session.connections.size }
    const dropped = await act(
      req,
      'evict',
      fields,
      'session evicted by an operator',
      () => dropSession(ctx, session, 'admin'),
      (d) => ({ dropped: d }),
    )
    return { dropped: dropped ? 1 : 0 }
  })

  app.post<{ Body: { idle_ms: number } }>('/sweep', { schema: { body: sweepBody } }, async (req) => {
    const abandoned = await act(
      req,
      'sweep',
      { idle_ms: req.body.idle_ms },
      'stuck sessions recovered',
      () => recoverStuck(ctx, req.body.idle_ms),
      // Each session also has its own session.abandoned line; this one names the first hundred.
      (list) => ({
        abandoned: list.length,
        session_ids: list.slice(0, LOGGED_IDS).map((a) => a.session_id),
        session_seqs: list.slice(0, LOGGED_IDS).map((a) => a.seq),
      }),
    )
    return clustered(req) ? sweepAll(cluster!, req, abandoned) : { abandoned }
  })

  app.post('/reset', async (req) => {
    const fields = { sessions: ctx.sessions.size, connections: ctx.connections.size }
    // Each session also has its own session.dropped line (reason `reset`).
    const dropped = await act(
      req,
      'reset',
      fields,
      'host reset by an operator: every session dropped',
      () => reset(ctx),
      (n) => ({ dropped: n }),
    )
    return { dropped }
  })
}
