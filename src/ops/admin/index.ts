// The operators' surface: the admin API under /v1/admin and the console at
// /admin, both only when an admin token is configured (else every route is
// 404, as if it did not exist), both behind the same bearer token.
import type { FastifyInstance } from 'fastify'
import type { HostContext } from '../../dispatch/context.js'
import { registerConsole } from '../console-route.js'
import { AdminError, sendAdminError } from './errors.js'
import { registerAdminRoutes, type AdminRouteDeps } from './routes.js'
import { bearerMatcher } from './token.js'

export const ADMIN_PREFIX = '/v1/admin'

export async function registerAdmin(app: FastifyInstance, ctx: HostContext, token: string | undefined, deps: AdminRouteDeps): Promise<void> {
  if (token === undefined) return
  const check = bearerMatcher(token)
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (req, reply) => {
        const verdict = check(req.headers.authorization)
        if (verdict === 'ok') return
        ctx.metrics.adminActions.inc({ action: 'unauthorized' })
        req.log.warn({ event: 'admin.unauthorized', remote: req.ip, reason: verdict, url: req.routeOptions.url ?? 'unmatched' }, 'admin request without a valid token')
        void reply.header('www-authenticate', 'Bearer realm="rag-session-host admin"')
        return sendAdminError(req, reply, new AdminError('unauthorized', verdict === 'missing' ? 'send Authorization: Bearer <admin token>' : 'the admin token is wrong'))
      })
      admin.setErrorHandler((err, req, reply) => sendAdminError(req, reply, err))
      admin.setNotFoundHandler((req, reply) => sendAdminError(req, reply, new AdminError('not_found', 'no such admin route')))
      registerAdminRoutes(admin, ctx, deps)
    },
    { prefix: ADMIN_PREFIX },
  )
  await registerConsole(app)
}
