// Fastify's own request log lines, reshaped to our convention: one
// `http.request` line per completed request (debug level: health checks and
// scrapes are frequent), errors at error level, no headers or bodies.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class HttpLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = { event: 'http.request', method: request.method, url: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }
    if (error) reply.log.error({ ...line, err: error }, 'http request failed')
    else reply.log.debug(line, 'http request')
  }
}
