// GET /v1/ws: refuses the upgrade (HTTP 403) from a browser origin outside
// ALLOWED_ORIGINS, (HTTP 503) while the host is not ready or full of
// connections, otherwise hands the socket to a Connection.
import type { FastifyInstance } from 'fastify'
import { WS_PATH } from '@rag-session-host/client/shared'
import type { HostContext } from '../dispatch/context.js'
import { Connection } from './connection.js'
import type { ConnectionRegistry } from './connection-registry.js'

export function registerWebSocketRoute(app: FastifyInstance, ctx: HostContext, registry: ConnectionRegistry, state: { ready: () => boolean }): void {
  app.get(
    WS_PATH,
    {
      websocket: true,
      preValidation: async (req, reply) => {
        // Browsers always send Origin on a WebSocket upgrade; other clients need not, and are let in.
        const origin = req.headers.origin
        const allowed = ctx.config.allowedOrigins
        if (allowed && origin !== undefined && !allowed.includes(origin)) {
          ctx.log.info({ event: 'connection.refused', reason: 'origin_not_allowed', origin: origin.slice(0, 256) }, 'websocket origin not allowed')
          return reply.code(403).send({ error: 'origin_not_allowed' })
        }
        if (!state.ready()) return reply.code(503).header('retry-after', '1').send({ error: 'not_ready' })
        if (registry.size >= ctx.config.maxConnections) return reply.code(503).header('retry-after', '1').send({ error: 'too_many_connections' })
      },
    },
    (socket, req) => {
      const conn = new Connection(ctx, socket, req.ip, registry)
      registry.set(conn.id, conn)
      ctx.metrics.connections.inc()
      ctx.metrics.connectionsOpened.inc()
    },
  )
}
