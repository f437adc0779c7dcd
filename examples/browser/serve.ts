// npm run example:browser: a host on a free port and, on another origin, a
// static server for the example page; prints the page's URL. The host takes
// its settings from the environment like `npm start` (LOG_LEVEL defaults to
// warn here); CORS_ORIGINS and ALLOWED_ORIGINS default to the page's origin.
// EXAMPLE_PORT and EXAMPLE_HOST_PORT pick the ports (0, a free one, by default).
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/ops/logger.js'
import { buildServer } from '../../src/server.js'
import { SDK_BUNDLE, exampleFiles } from './files.js'
import { startStaticServer } from './static-server.js'

if (!existsSync(SDK_BUNDLE)) {
  process.stderr.write(`missing ${SDK_BUNDLE}: run \`npm run build:sdk\` first\n`)
  process.exit(1)
}

const page = await startStaticServer(exampleFiles, { port: Number(process.env.EXAMPLE_PORT ?? 0) })
// Sessions live in memory; a throwaway data dir keeps this run's host key out of ./data.
const dataDir = mkdtempSync(join(tmpdir(), 'rsh-example-'))
const config = loadConfig(process.env, {
  port: process.env.EXAMPLE_HOST_PORT ?? 0,
  dataDir,
  logLevel: process.env.LOG_LEVEL ?? 'warn',
  corsOrigins: process.env.CORS_ORIGINS ?? page.url,
  allowedOrigins: process.env.ALLOWED_ORIGINS ?? page.url,
})
const host = await buildServer(config, { logger: createLogger(config.logLevel) })
const hostUrl = await host.listen()

process.stdout.write(
  [
    `host  ${hostUrl}  (CORS_ORIGINS=${config.corsOrigins.join(',')}, ALLOWED_ORIGINS=${config.allowedOrigins?.join(',') ?? '(any)'})`,
    `page  ${page.url}/?host=${encodeURIComponent(hostUrl)}`,
    '',
    'Open the page in a browser. Ctrl+C stops both.',
    '',
  ].join('\n'),
)

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await Promise.all([page.close(), host.close()])
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
