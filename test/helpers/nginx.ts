// nginx with deploy/nginx.conf, as operators run it, in front of three hosts:
// the file is copied with only what it tells operators to edit (the three
// upstream servers and the `listen` line) and its log level raised to
// `notice`, so the test can await nginx's own "start worker process" line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Daemon, freePort, type Teardown } from './cluster-tools.js'

export const NGINX_CONF = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url))

export interface Nginx {
  readonly port: number
  readonly url: string
  readonly wsUrl: string
  readonly daemon: Daemon
}

/** The deploy file with `backends` (host:port) for its three servers and 127.0.0.1:`port` to listen on. */
export function nginxConf(backends: readonly [string, string, string], port: number): string {
  const conf = readFileSync(NGINX_CONF, 'utf8')
  const servers = [...conf.matchAll(/^(\s*server )\S+(:\d+ .*;)$/gm)]
  if (servers.length !== 3) throw new Error(`deploy/nginx.conf has ${servers.length} upstream servers, not 3`)
  let i = 0
  const out = conf
    .replace(/^(\s*server )\S+:\d+( .*;)$/gm, (_m, head: string, tail: string) => `${head}${backends[i++]}${tail}`)
    .replace(/^(\s*listen )8080;$/m, `$1127.0.0.1:${port};`)
    .replace(/^error_log stderr warn;$/m, 'error_log stderr notice;')
  if (!out.includes(`listen 127.0.0.1:${port};`) || !out.includes('error_log stderr notice;')) throw new Error('deploy/nginx.conf changed shape: update test/helpers/nginx.ts')
  return out
}

/** Starts nginx in the foreground on a free port; teardown kills it and removes its directory. */
export async function startNginx(t: Teardown, backends: readonly [string, string, string]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-nginx-'))
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConf(backends, port))
  const daemon = new Daemon(`nginx :${port}`, 'nginx', ['-p', dir, '-c', conf, '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`])
  t.teardown(async () => {
    if (t.passing && !t.passing()) t.comment?.(`nginx output:\n${daemon.tail()}`)
    await daemon.destroy()
    rmSync(dir, { recursive: true, force: true })
  })
  await daemon.waitForLine(/start worker process/, 10_000)
  return { port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, daemon }
}
