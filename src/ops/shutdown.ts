// Graceful shutdown on SIGTERM/SIGINT or an uncaught fault: `close` runs once,
// bounded by SHUTDOWN_GRACE_MS. A second SIGTERM (orchestrators send them) does
// not cut the journal's flush short; it is logged and the shutdown goes on. A
// second SIGINT is a person at a terminal insisting: exit at once.
import type { Logger } from 'pino'

/** Returns the same graceful stop, for a fault the host finds itself (a lost vector graph, server.ts). */
export function onShutdown(log: Logger, graceMs: number, close: () => Promise<void>): (err: Error) => void {
  let started = false
  const run = (reason: { signal?: NodeJS.Signals; err?: unknown }): void => {
    if (started) {
      if (reason.signal === 'SIGINT') {
        log.warn({ event: 'host.signal_forced', signal: reason.signal }, 'second SIGINT: exiting now')
        process.exit(130)
      }
      log.info({ event: 'host.signal_again', signal: reason.signal ?? null }, 'already shutting down; finishing the flush')
      return
    }
    started = true
    if (reason.err) log.error({ event: 'host.fault', err: reason.err }, 'shutting down after an uncaught fault')
    else log.info({ event: 'host.signal', signal: reason.signal }, 'shutting down')
    const deadline = setTimeout(() => {
      log.error({ event: 'host.shutdown_timeout', ms: graceMs }, 'graceful shutdown took too long; exiting')
      process.exit(1)
    }, graceMs)
    deadline.unref()
    close().then(
      () => process.exit(reason.err ? 1 : 0),
      (err: unknown) => {
        log.error({ event: 'host.shutdown_failed', err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const) process.on(signal, () => run({ signal }))
  process.on('uncaughtException', (err) => run({ err }))
  process.on('unhandledRejection', (err) => run({ err }))
  return (err) => run({ err })
}
