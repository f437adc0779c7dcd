// The admin console's route: the page and its two assets, with their content
// types and security headers (a CSP with no inline script or style, nosniff,
// no referrer, no caching); nothing else under /admin; and the page's own
// files keep to what that CSP allows. A host without an admin token has no
// /admin at all; a host with one serves it.
import t from 'tap'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { CONSOLE_CSP, registerConsole } from '../../src/ops/console-route.js'
import { startHost } from '../helpers/host.js'

const consoleFile = (name: string): string => readFileSync(new URL(`../../src/ops/console/${name}`, import.meta.url), 'utf8')

async function bareApp(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const app = Fastify()
  await registerConsole(app)
  t.teardown(() => app.close())
  return app.listen({ host: '127.0.0.1', port: 0 })
}

t.test('GET /admin, /admin/, /admin/console.js and /admin/console.css', async (t) => {
  const url = await bareApp(t)
  const cases = [
    ['/admin', 'text/html; charset=utf-8', 'index.html'],
    ['/admin/', 'text/html; charset=utf-8', 'index.html'],
    ['/admin/console.js', 'text/javascript; charset=utf-8', 'console.js'],
    ['/admin/console.css', 'text/css; charset=utf-8', 'console.css'],
  ] as const
  for (const [path, type, file] of cases) {
    const res = await fetch(url + path)
    t.equal(res.status, 200, path)
    t.equal(res.headers.get('content-type'), type, `${path}: content type`)
    t.equal(await res.text(), consoleFile(file), `${path}: serves ${file}`)
    t.equal(res.headers.get('content-security-policy'), CONSOLE_CSP, `${path}: CSP`)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`)
    t.equal(res.headers.get('referrer-policy'), 'no-referrer', `${path}: no referrer`)
    t.equal(res.headers.get('cache-control'), 'no-store', `${path}: not cached`)
    t.equal(res.headers.get('x-frame-options'), 'DENY', `${path}: not framed`)
    t.equal(res.headers.get('access-control-allow-origin'), null, `${path}: no CORS`)
  }
  const head = await fetch(`${url}/admin`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD /admin')
  t.equal(head.headers.get('content-security-policy'), CONSOLE_CSP)
})

t.test('the CSP allows only this origin: no inline script or style, no framing, no form posts', async (t) => {
  const directives = new Map(
    CONSOLE_CSP.split(';')
      .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
      .map(([name, ...values]) => [name, values]),
  )
  t.same(directives.get('default-src'), ["'none'"])
  t.same(directives.get('script-src'), ["'self'"])
  t.same(directives.get('style-src'), ["'self'"])
  t.same(directives.get('connect-src'), ["'self'"])
  t.same(directives.get('img-src'), ["'self'", 'data:'])
  t.same(directives.get('base-uri'), ["'none'"])
  t.same(directives.get('form-action'), ["'none'"])
  t.same(directives.get('frame-ancestors'), ["'none'"])
  t.notMatch(CONSOLE_CSP, /unsafe-|https?:|\*/, 'no unsafe-inline, unsafe-eval, other hosts or wildcards')
})

t.test('nothing else is served under /admin', async (t) => {
  const url = await bareApp(t)
  for (const path of ['/admin/index.html', '/admin/console.js.map', '/admin/../package.json', '/admin/console/console.js', '/admin/x']) {
    t.equal((await fetch(url + path)).status, 404, path)
  }
  t.equal((await fetch(`${url}/admin`, { method: 'POST' })).status, 404, 'POST /admin')
})

t.test("the page's files keep to the CSP and never render data as HTML", async (t) => {
  const html = consoleFile('index.html')
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
  t.same(
    scripts.map((m) => [m[1]!.trim(), m[2]!.trim()]),
    [['type="module" src="/admin/console.js"', '']],
    'one script, an external module',
  )
  t.notMatch(html, /<style\b/, 'no <style> element')
  t.notMatch(html, /\sstyle=/, 'no style attribute')
  t.notMatch(html, /\son[a-z]+=/, 'no inline event handler')
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'no third-party asset')
  t.match(html, /<link rel="stylesheet" href="\/admin\/console.css" \/>/)
  const js = consoleFile('console.js')
  t.notMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, 'values reach the page as text only')
  t.notMatch(js, /\.style\b|setAttribute\('style'/, 'no inline style from the script either')
  t.notMatch(js, /\bimport\b[^;\n]*from|import\(/, 'no module imports: the page is one file')
  t.notMatch(js, /localStorage/, 'the token is kept in sessionStorage, not localStorage')
  t.notMatch(consoleFile('console.css'), /@import|url\(\s*['"]?(https?:)?\/\//, 'no stylesheet from elsewhere')
})

t.test('a host without an admin token has no /admin', async (t) => {
  const host = await startHost(t)
  for (const path of ['/admin', '/admin/', '/admin/console.js', '/admin/console.css']) t.equal((await fetch(host.url + path)).status, 404, path)
})

t.test('a host with an admin token serves the console, with the same headers, and no token is needed for the page itself', async (t) => {
  const host = await startHost(t, { adminToken: 'console-route-test-token' })
  for (const path of ['/admin', '/admin/', '/admin/console.js', '/admin/console.css']) {
    const res = await fetch(host.url + path)
    t.equal(res.status, 200, path)
    t.equal(res.headers.get('content-security-policy'), CONSOLE_CSP, `${path}: CSP`)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`)
    t.equal(res.headers.get('referrer-policy'), 'no-referrer', `${path}: no referrer`)
    t.equal(res.headers.get('cache-control'), 'no-store', `${path}: not cached`)
  }
  t.equal((await fetch(`${host.url}/admin/x`)).status, 404, 'nothing else under /admin')
  // The page's data needs the token: the API answers 401 without it.
  t.equal((await fetch(`${host.url}/v1/admin/stats`)).status, 401)
})
