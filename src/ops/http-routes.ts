// Plain HTTP endpoints: host info (the contract's GET /v1/host), liveness,
// readiness (503 with Retry-After and the reason while not ready: see
// readiness.ts) and metrics. Only host info answers CORS: it is public and web
// apps on their own origin read it before they open the WebSocket.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import cors from '@fastify/cors'
import { HOST_INFO_PATH, PROTOCOL_VERSION, type HostInfo } from '@rag-session-host/client/shared'
import type { HostContext } from '../dispatch/context.js'
import { VERSION } from '../version.js'
import type { ReadinessView } from './readiness.js'

export function hostInfo(ctx: HostContext): HostInfo {
  const c = ctx.config
  return {
    protocol: PROTOCOL_VERSION,
    version: VERSION,
    public_key: ctx.identity.publicKeyBase64,
    limits: {
      max_sessions: c.maxSessions,
      max_frame_bytes: c.maxFrameBytes,
      max_batch: c.maxBatch,
      max_vectors_per_session: c.maxVectorsPerSession,
      max_dims: c.maxDims,
      max_k: c.maxK,
      max_metadata_bytes: c.maxMetadataBytes,
      max_message_chars: c.maxMessageChars,
      max_history: c.maxHistory,
      init_clock_skew_ms: c.initClockSkewMs,
      reconnect_grace_ms: c.reconnectGraceMs,
      retention_ms: c.retentionMs,
      rate_limit_per_sec: c.rateLimitPerSec,
    },
  }
}

/** CORS (CORS_ORIGINS) for GET /v1/host and its preflight; every other path answers none. */
async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const hostInfoCors = { origin: origins.includes('*') ? '*' : [...origins], methods: ['GET', 'HEAD'], maxAge: 600 }
  const path = (req: FastifyRequest): string => req.url.split('?', 1)[0] ?? ''
  // The preflight is one wildcard OPTIONS route, so the path decides here, not a route's config.
  await app.register(cors, { delegator: (req, done) => done(null, path(req) === HOST_INFO_PATH ? hostInfoCors : { origin: false }) })
}

export async function registerHttpRoutes(app: FastifyInstance, ctx: HostContext, readiness: ReadinessView): Promise<void> {
  await registerCors(app, ctx.config.corsOrigins)
  app.get(HOST_INFO_PATH, async () => hostInfo(ctx))
  app.get('/health', { config: { rateLimit: false } }, async () => ({ status: 'ok' }))
  app.get('/ready', { config: { rateLimit: false } }, async (_req, reply) => {
    const refusal = readiness.refusal()
    if (refusal) return reply.code(refusal.status).header('retry-after', String(refusal.retryAfterS)).send({ status: 'not_ready', reason: refusal.reason })
    const sessions = ctx.sessions.size
    return { status: 'ready', sessions, capacity: ctx.config.maxSessions, connections: ctx.connections.size }
  })
  if (ctx.config.metricsEnabled) {
    app.get('/metrics', { config: { rateLimit: false } }, async (_req, reply) => {
      const { contentType, body } = await ctx.metrics.render()
      return reply.type(contentType).send(body)
    })
  }
}
