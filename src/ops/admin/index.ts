// The operators' surface: the admin API under /v1/admin and the console at
// /admin, both only when an admin token is configured (else every route is
// 404, as if it did not exist), both behind the same bearer token.
import { Ajv } from 'ajv'
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
      // After the rate limit (an onRequest hook of each route), so guesses at the token are limited too, and before the body is read.
      admin.addHook('preParsing', async (req, reply, payload) => {
        const verdict = check(req.headers.authorization)
        if (verdict === 'ok') return payload
        ctx.metrics.adminActions.inc({ action: 'unauthorized', outcome: 'unauthorized' })
        req.log.warn({ event: 'admin.unauthorized', remote: req.ip, reason: verdict, url: req.routeOptions.url ?? 'unmatched' }, 'admin request without a valid token')
        void reply.header('www-authenticate', 'Bearer realm="rag-session-host admin"')
        // Thrown, not sent: the error handler answers it (a reply sent from this hook would be taken for the body stream).
        throw new AdminError('unauthorized', verdict === 'missing' ? 'send Authorization: Bearer <admin token>' : 'the admin token is wrong')
      })
      // Admin input is checked as written: no type coercion ("5", null or true are not an idle_ms), no property dropped unseen.
      const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false })
      admin.setValidatorCompiler(({ schema }) => ajv.compile(schema))
      // JSON bodies only: anything else is bad input (400), even on a route that reads no body.
      admin.removeAllContentTypeParsers()
      admin.addContentTypeParser('application/json', { parseAs: 'string' }, admin.getDefaultJsonParser('error', 'error'))
      admin.setErrorHandler((err, req, reply) => sendAdminError(req, reply, err))
      admin.setNotFoundHandler((req, reply) => sendAdminError(req, reply, new AdminError('not_found', 'no such admin route')))
      registerAdminRoutes(admin, ctx, deps)
    },
    { prefix: ADMIN_PREFIX },
  )
  await registerConsole(app)
}
