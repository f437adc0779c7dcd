// Entry point: read and validate the configuration, start the host, and shut
// it down gracefully on SIGTERM/SIGINT (or an uncaught fault).
import { secretbox } from './crypto/secretbox.js'
import type { Logger } from 'pino'
import { ConfigError, loadConfig, type Config } from './config.js'
import { createLogger } from './ops/logger.js'
import { onShutdown } from './ops/shutdown.js'
import { buildServer } from './server.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  // No logger exists yet; this one line is for the operator's terminal.
  process.stderr.write(`rag-session-host: invalid configuration: ${err.message}\n`)
  process.exit(1)
}

let log: Logger
try {
  log = createLogger(config.logLevel, undefined, config.logFormat)
} catch (err) {
  // LOG_FORMAT=pretty where pino-pretty is not installed (a production image): said plainly, like a bad setting.
  process.stderr.write(`rag-session-host: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
let fault: (err: Error) => void = () => undefined
let host
try {
  // A fault the host detects itself stops it like an uncaught one: gracefully, exit code 1, for the supervisor to restart.
  host = await buildServer(config, { logger: log, onFault: (err) => fault(err) })
} catch (err) {
  // A setting that needs a file (ADMIN_TOKEN_FILE) can only be checked now: reported like any bad setting.
  if (err instanceof ConfigError) process.stderr.write(`rag-session-host: invalid configuration: ${err.message}\n`)
  else log.fatal({ event: 'host.start_failed', err }, 'host failed to start')
  process.exit(1)
}
const server = host
let url: string
try {
  url = await server.listen()
} catch (err) {
  log.fatal({ event: 'host.start_failed', err }, 'host failed to listen')
  await server.close()
  process.exit(1)
}
log.info(
  {
    event: 'host.started',
    url,
    ws_url: url.replace(/^http/, 'ws') + '/v1/ws',
    public_key: server.ctx.identity.publicKeyBase64,
    key_source: server.ctx.identity.source,
    max_sessions: config.maxSessions,
    secretbox: secretbox.name,
  },
  `rag-session-host listening on ${url}`,
)

fault = onShutdown(log, config.shutdownGraceMs, () => server.close())
// Cluster mode: credentials Redis refuses, or an identity the cluster does not share, stop the host (a restart cannot fix them).
server.joined.catch(async (err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`rag-session-host: invalid configuration: ${err.message}\n`)
  log.fatal({ event: 'host.start_failed', err: err instanceof Error ? err.message : String(err) }, 'host could not join its cluster')
  await server.close().catch(() => undefined)
  process.exit(1)
})
// A file-size limit (ulimit -f) must surface as EFBIG on a journal write
// (refused, journal.failed), never kill the host. Node ignores SIGXFSZ, but a
// preloaded signal-exit (APM agents, test runners) re-raises it unless the
// process listens for it itself.
process.on('SIGXFSZ', () => undefined)
