// Starts a real host on 127.0.0.1 (a free port), with its log lines captured.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { loadConfig, type Config } from '../../src/config.js'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { buildServer, type HostServer } from '../../src/server.js'
import { captureLogger, type CapturedLogger } from './silent-logger.js'

export interface TestHost {
  server: HostServer
  config: Config
  url: string
  wsUrl: string
  hostPublicKey: Uint8Array
  hostSecretKey: Uint8Array
  log: CapturedLogger
  close(): Promise<void>
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface StartOptions {
  /** The host's clock (sessions, replay cache, init freshness, rate limits). */
  now?: () => number
  /** Settings by their environment variable names, as an operator sets them. */
  env?: Record<string, string>
  /** A DATA_DIR to reuse (a restart): the test owns it, close() leaves it. */
  dataDir?: string
  /** The host's secret key, to restart the same host (default: a new one). */
  secretKey?: Uint8Array
  /** A fault the host finds in itself (main.ts stops the process on one). */
  onFault?: (err: Error) => void
}

export async function startHost(t: Teardown, overrides: Partial<Record<keyof Config, unknown>> = {}, opts: StartOptions = {}): Promise<TestHost> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rsh-test-'))
  const kp = opts.secretKey ? nacl.box.keyPair.fromSecretKey(opts.secretKey) : nacl.box.keyPair()
  const config = loadConfig(opts.env ?? {}, { port: 0, host: '127.0.0.1', dataDir, hostSecretKey: encodeBase64(kp.secretKey), ...overrides })
  const log = captureLogger('debug')
  const server = await buildServer(config, { logger: log.logger, ...(opts.now ? { now: opts.now } : {}), ...(opts.onFault ? { onFault: opts.onFault } : {}) })
  const url = await server.listen()
  let closed: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await server.close()
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    })())
  t.teardown(close)
  return { server, config, url, wsUrl: url.replace(/^http/, 'ws') + '/v1/ws', hostPublicKey: kp.publicKey, hostSecretKey: kp.secretKey, log, close }
}
