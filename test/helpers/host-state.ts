// Views into a running test host, for the few error paths that can only be
// reached at a moment the test chooses: real parts, nothing replaced.
import type { TestHost } from './host.js'

/** Requests of `op` the host has carried out and answered (or is answering): rsh_requests_total. */
export async function requestsCounted(host: TestHost, op: string): Promise<number> {
  const metric = await host.server.ctx.metrics.requests.get()
  return metric.values.filter((v) => v.labels.op === op).reduce((n, v) => n + v.value, 0)
}

/**
 * Gives the host's secretbox worker one long seal (by default 64 MiB, most of
 * a second of work), so whatever the host hands the worker next waits behind it.
 * Resolves with 'sealed', or with the error if the worker stops first.
 */
export function occupySecretboxWorker(host: TestHost, bytes = 64 * 1024 * 1024): Promise<'sealed' | Error> {
  return host.server.ctx.secretbox.seal(new Uint8Array(bytes), new Uint8Array(32)).then(
    () => 'sealed' as const,
    (err: Error) => err,
  )
}
