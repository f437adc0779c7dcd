// A tiny static file server for the browser example and the browser tests:
// it serves exactly the files it is given (no directory listing, no path
// from the URL ever reaches the file system), on 127.0.0.1.
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import type { AddressInfo } from 'node:net'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
}

export interface StaticServer {
  /** http://127.0.0.1:PORT, no trailing slash: the page's origin. */
  readonly url: string
  close(): Promise<void>
}

/** Serves `files` (URL path → file on disk); `/` is served as `/index.html` when that is listed. */
export async function startStaticServer(files: Readonly<Record<string, string>>, opts: { host?: string; port?: number } = {}): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = files[path === '/' ? '/index.html' : path]
    if ((req.method !== 'GET' && req.method !== 'HEAD') || file === undefined) {
      res.writeHead(file === undefined ? 404 : 405, { 'content-type': 'text/plain' }).end(file === undefined ? 'not found' : 'method not allowed')
      return
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', 'content-length': body.length })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'),
    )
  })
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
