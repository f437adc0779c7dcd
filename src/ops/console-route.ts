// The admin console: a static page (src/ops/console/) at GET /admin that
// drives the admin API (/v1/admin) from the operator's browser. Registered by
// the admin wiring only when an admin token is configured; without one,
// /admin is 404 like any unknown path. The page itself holds no secret: the
// operator pastes the token, which the page sends as a Bearer header.
//
// Files are read once, at registration, from ./console/ next to this module,
// so the compiled host needs them copied into dist/ops/console/ by the build.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** No third-party asset, no inline script or style, nothing framed, nothing sent elsewhere. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** Sent with the page and its assets. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

const FILES = [
  { paths: ['/admin', '/admin/'], file: 'index.html', type: 'text/html; charset=utf-8' },
  { paths: ['/admin/console.js'], file: 'console.js', type: 'text/javascript; charset=utf-8' },
  { paths: ['/admin/console.css'], file: 'console.css', type: 'text/css; charset=utf-8' },
] as const

const CONSOLE_DIR = new URL('./console/', import.meta.url)

async function load(file: string): Promise<Buffer> {
  const url = new URL(file, CONSOLE_DIR)
  try {
    return await readFile(url)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new Error(`admin console: cannot read ${url.pathname} (${reason}); the build must copy src/ops/console/ next to console-route.js`, { cause: err })
  }
}

/** Serves GET /admin (and /admin/), /admin/console.js and /admin/console.css. */
export async function registerConsole(app: FastifyInstance): Promise<void> {
  const bodies = await Promise.all(FILES.map((f) => load(f.file)))
  FILES.forEach((f, i) => {
    const body = bodies[i]!
    const send = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => reply.headers(CONSOLE_HEADERS).type(f.type).send(body)
    for (const path of f.paths) app.get(path, send)
  })
}
