// The admin API's errors: one class, one table of codes, one body shape
// (`{error: {code, message}}`), whatever failed (our checks, Fastify's schema
// validation or body parsing, the rate limit, a fault).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ProtocolError } from '../../protocol/errors.js'

export const ADMIN_ERRORS = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  rate_limited: 429,
  internal: 500,
  /** The journal refused the change: nothing was done; retry later. */
  unavailable: 503,
} as const

export type AdminErrorCode = keyof typeof ADMIN_ERRORS

export class AdminError extends Error {
  readonly status: number
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message)
    this.name = 'AdminError'
    this.status = ADMIN_ERRORS[code]
  }
}

export const badRequest = (message: string): AdminError => new AdminError('bad_request', message)
export const notFound = (message: string): AdminError => new AdminError('not_found', message)

/** What a failure is, as the admin API answers it. */
export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err
  // A change the journal could not take (dispatch/commit.ts): retryable, and nothing was applied.
  if (err instanceof ProtocolError && err.code === 'internal' && err.retryAfterMs !== undefined) {
    return new AdminError('unavailable', err.message, Math.max(1, Math.ceil(err.retryAfterMs / 1000)))
  }
  const e = err as Partial<FastifyError>
  if (e.validation) return badRequest(e.message ?? 'invalid request')
  // Body parsing: not JSON, empty, or another media type. All bad input, all 400.
  if (typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP_')) return badRequest('the body must be a JSON object')
  if (e.statusCode === 429) return new AdminError('rate_limited', e.message ?? 'too many requests')
  return new AdminError('internal', 'internal error')
}

export function sendAdminError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toAdminError(err)
  if (e.code === 'internal') req.log.error({ event: 'admin.fault', err }, 'admin request failed')
  if (e.retryAfterS !== undefined) void reply.header('retry-after', String(e.retryAfterS))
  return reply.code(e.status).send({ error: { code: e.code, message: e.message } })
}
