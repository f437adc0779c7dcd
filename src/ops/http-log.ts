// Fastify's own request log lines, reshaped to our convention: one
// `http.request` line per completed request (debug level: health checks and
// scrapes are frequent), errors at error level, no headers or bodies; an
// unknown path is `http.not_found` at debug (scanners probe for them all day),
// not Fastify's info line. The request id is `req_id`, the field name
// WebSocket request lines use too.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/** The log field of a request id, in HTTP and WebSocket lines alike. */
export const REQ_ID = 'req_id'
/** Longest path logged for an unknown route: they come from anyone. */
const MAX_PATH_CHARS = 256

export class HttpLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: REQ_ID })
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }
    if (error) reply.log.error({ event: 'http.request', ...line, err: error }, 'http request failed')
    else reply.log.debug({ event: 'http.request', ...line }, 'http request')
  }

  override routeNotFound(request: FastifyRequest): void {
    // The path only: a query string may carry anything.
    const path = (request.raw.url ?? '').split('?', 1)[0] ?? ''
    request.log.debug({ event: 'http.not_found', method: request.method, path: path.slice(0, MAX_PATH_CHARS) }, 'no such route')
  }
}
