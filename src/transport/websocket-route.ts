// GET /v1/ws: the upgrade to protocol v1, or a refusal with a reason. In the
// order checked: a browser origin outside ALLOWED_ORIGINS (403, final); the
// host not ready: starting, shutting down, journal unwritable, under pressure
// (503 `not_ready` with the reason); MAX_CONNECTIONS open (503); the client's
// address at MAX_CONNECTIONS_PER_IP open WebSockets (429). Retryable ones
// carry Retry-After, every one a body `{error}` and a count in
// rsh_upgrades_refused_total{reason}. A plain GET (no upgrade) is answered
// 426 Upgrade Required. An accepted socket is handed to a Connection.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { WebSocket } from 'ws'
import { isSessionId, WS_PATH } from '@rag-session-host/client/shared'
import type { HostContext } from '../dispatch/context.js'
import type { ReadinessView } from '../ops/readiness.js'
import { Connection } from './connection.js'
import type { ConnectionRegistry } from './connection-registry.js'

/** Retry-After at MAX_CONNECTIONS (the contract's 1 s). */
const FULL_RETRY_S = 1
/** Retry-After at MAX_CONNECTIONS_PER_IP: a slot frees only when one of the address's own sockets closes. */
const ADDRESS_RETRY_S = 5

/** Open WebSockets by client address (`req.ip`), for MAX_CONNECTIONS_PER_IP. */
class AddressCounts {
  readonly #open = new Map<string, number>()

  count(address: string): number {
    return this.#open.get(address) ?? 0
  }

  /** Counts `socket` against `address` until it closes. */
  hold(address: string, socket: WebSocket): void {
    this.#open.set(address, this.count(address) + 1)
    socket.once('close', () => {
      const n = this.count(address) - 1
      if (n > 0) this.#open.set(address, n)
      else this.#open.delete(address)
    })
  }
}

export function registerWebSocketRoute(app: FastifyInstance, ctx: HostContext, registry: ConnectionRegistry, readiness: ReadinessView): void {
  const addresses = new AddressCounts()
  const refuse = (reply: FastifyReply, status: number, reason: string, body: Record<string, string>, retryAfterS?: number): FastifyReply => {
    ctx.metrics.upgradesRefused.inc({ reason })
    if (retryAfterS !== undefined) void reply.header('retry-after', String(retryAfterS))
    return reply.code(status).send(body)
  }

  app.route({
    method: 'GET',
    url: WS_PATH,
    preValidation: async (req, reply) => {
      // A plain GET is no upgrade to refuse: the handler answers it.
      if (!req.ws) return
      // Browsers always send Origin on a WebSocket upgrade; other clients need not, and are let in.
      const origin = req.headers.origin
      const allowed = ctx.config.allowedOrigins
      if (allowed && origin !== undefined && !allowed.includes(origin)) {
        ctx.log.info({ event: 'connection.refused', reason: 'origin_not_allowed', origin: origin.slice(0, 256) }, 'websocket origin not allowed')
        return refuse(reply, 403, 'origin_not_allowed', { error: 'origin_not_allowed' })
      }
      // Not logged per upgrade: readiness logs when pressure starts and ends, the journal when it fails and recovers.
      const refusal = readiness.refusal()
      if (refusal) return refuse(reply, refusal.status, refusal.reason, { error: 'not_ready', reason: refusal.reason }, refusal.retryAfterS)
      if (registry.size >= ctx.config.maxConnections) return refuse(reply, 503, 'too_many_connections', { error: 'too_many_connections' }, FULL_RETRY_S)
      const cap = ctx.config.maxConnectionsPerIp
      if (cap > 0 && addresses.count(req.ip) >= cap) {
        // No address here: the address's own connection.opened lines carry it as `remote`.
        ctx.log.info({ event: 'connection.refused', reason: 'too_many_connections_from_address', limit: cap }, 'too many connections from one address')
        return refuse(reply, 429, 'too_many_connections_from_address', { error: 'too_many_connections_from_address' }, ADDRESS_RETRY_S)
      }
    },
    // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
    handler: async (_req, reply) => reply.code(426).header('upgrade', 'websocket').header('connection', 'Upgrade').send({ error: 'upgrade_required' }),
    wsHandler: (socket, req) => {
      addresses.hold(req.ip, socket)
      let conn: Connection
      try {
        // A hint that is no session id is not an error: it only steers the balancer.
        const hint = (req.query as { session_id?: unknown }).session_id
        conn = new Connection(ctx, socket, req.ip, registry, isSessionId(hint) ? hint : undefined)
      } catch (err) {
        // A bug of ours: the socket cannot be served, so it is not kept open.
        ctx.log.error({ event: 'connection.fault', err }, 'could not set up a connection')
        socket.terminate()
        return
      }
      registry.set(conn.id, conn)
      ctx.metrics.connections.inc()
      ctx.metrics.connectionsOpened.inc()
    },
  })
}
