// The host's connections to the cluster's Redis (the official client,
// @redis/client: maintained by Redis itself, RESP3, TLS and ACL users from the
// URL, and it reconnects by itself). Two connections: one for commands, one
// subscribed to this host's channel (a subscribed connection takes no other
// commands).
//
// Commands are never queued while Redis is unreachable (disableOfflineQueue):
// a change must fail at once, answered `unavailable`, rather than wait for an
// outage to end. Reconnection backs off to RECONNECT_MAX_MS and never gives up,
// except when Redis refuses the credentials: that is a setting to fix, so the
// host stops at start with a message naming CLUSTER_REDIS_URL.
import { createClient, RESP_TYPES, type RedisClientType } from '@redis/client'
import type { Logger } from 'pino'
import { ConfigError } from '../config.js'
import type { Script } from './scripts.js'

const RECONNECT_MIN_MS = 50
const RECONNECT_MAX_MS = 2000
/** Replies of Redis that mean "these credentials will never do". */
const AUTH_FAILURE = /^(WRONGPASS|NOAUTH|NOPERM)\b/

export class RedisAuthError extends ConfigError {}

/** The reply types we read: bulk strings as Buffers (sealed records), the rest as the client maps them. */
type Reply = unknown

export interface RedisLinkOptions {
  url: string
  logger: Logger
  /** Round trip of every command, in seconds (metrics). */
  observeRtt(seconds: number): void
  /** Told when the command connection comes and goes. */
  onHealth(healthy: boolean): void
}

/** Checks CLUSTER_REDIS_URL beyond its pattern: a URL the client can use. Throws ConfigError naming the setting. */
export function checkRedisUrl(url: string): URL {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new ConfigError('CLUSTER_REDIS_URL is not a valid URL')
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ConfigError('CLUSTER_REDIS_URL must start with redis:// or rediss://')
  if (!u.hostname) throw new ConfigError('CLUSTER_REDIS_URL names no host')
  const db = u.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError('CLUSTER_REDIS_URL: the path must be a database number (redis://host:6379/0)')
  return u
}

export class RedisLink {
  readonly #o: RedisLinkOptions
  readonly #cmd: RedisClientType
  readonly #sub: RedisClientType
  readonly #bytes: RedisClientType
  #healthy = false
  #authFailure: Error | undefined
  #closed = false
  #loaded = new Set<string>()

  constructor(o: RedisLinkOptions) {
    checkRedisUrl(o.url)
    this.#o = o
    const options = {
      url: o.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number, cause: Error) => this.#backoff(retries, cause) },
    }
    this.#cmd = createClient(options)
    this.#sub = this.#cmd.duplicate()
    this.#bytes = this.#cmd.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as RedisClientType
    for (const [name, client] of [
      ['commands', this.#cmd],
      ['subscriber', this.#sub],
    ] as const) {
      // Without a listener an error event would crash the process; reconnecting is the client's job.
      client.on('error', (err: Error) => {
        if (AUTH_FAILURE.test(err.message)) return
        if (this.#healthy || name === 'subscriber') this.#o.logger.debug({ event: 'cluster.redis_error', connection: name, err: err.message }, 'redis connection error')
      })
    }
    this.#cmd.on('ready', () => this.#setHealthy(true))
    this.#cmd.on('end', () => this.#setHealthy(false))
    this.#cmd.on('reconnecting', () => this.#setHealthy(false))
  }

  get healthy(): boolean {
    return this.#healthy
  }

  /**
   * Connects both connections. Resolves once they are up (retrying meanwhile:
   * a Redis that is down at start is waited for); rejects with RedisAuthError
   * when Redis refuses the credentials.
   */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.#cmd.connect(), this.#sub.connect()])
    } catch (err) {
      if (this.#authFailure) throw new RedisAuthError(`CLUSTER_REDIS_URL: Redis refused the credentials (${this.#authFailure.message.split(' ')[0]})`)
      throw err
    }
  }

  /** A command whose bulk-string replies come back as Buffers. */
  async bytes(args: (string | Buffer)[]): Promise<Reply> {
    return this.#timed(() => this.#bytes.sendCommand(args))
  }

  async command(args: (string | Buffer)[]): Promise<Reply> {
    return this.#timed(() => this.#cmd.sendCommand(args))
  }

  /** Runs a script by its SHA, loading it on first use (after a Redis restart too: NOSCRIPT). */
  async eval(s: Script, keys: readonly string[], args: readonly (string | Buffer)[], asBytes = false): Promise<Reply> {
    const run = (op: 'EVALSHA' | 'EVAL'): Promise<Reply> => {
      const argv = [op, op === 'EVALSHA' ? s.sha : s.source, String(keys.length), ...keys, ...args]
      return asBytes ? this.bytes(argv) : this.command(argv)
    }
    if (!this.#loaded.has(s.sha)) {
      const reply = await run('EVAL')
      this.#loaded.add(s.sha)
      return reply
    }
    try {
      return await run('EVALSHA')
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return run('EVAL')
    }
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    await this.#sub.subscribe(channel, listener)
  }

  async publish(channel: string, message: string): Promise<number> {
    return (await this.command(['PUBLISH', channel, message])) as number
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(
      [this.#cmd, this.#sub].map(async (c) => {
        try {
          if (c.isOpen) await c.close()
        } catch {
          c.destroy()
        }
      }),
    )
    this.#setHealthy(false)
  }

  async #timed<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint()
    const out = await fn()
    this.#o.observeRtt(Number(process.hrtime.bigint() - t0) / 1e9)
    return out
  }

  #backoff(retries: number, cause: Error): number | Error {
    if (this.#closed) return new Error('closed')
    if (AUTH_FAILURE.test(cause?.message ?? '')) {
      this.#authFailure = cause
      return cause
    }
    if (retries === 0 || retries % 20 === 0) {
      this.#o.logger.warn({ event: 'cluster.redis_unreachable', retries, err: cause?.message }, 'cannot reach the cluster Redis; retrying')
    }
    // Jittered, so a cluster of hosts does not reconnect in lockstep after a Redis restart.
    return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(retries, 10)) * (0.5 + Math.random() / 2)
  }

  #setHealthy(healthy: boolean): void {
    if (healthy === this.#healthy) return
    this.#healthy = healthy
    // A restarted Redis has lost its script cache (unless persisted); NOSCRIPT reloads anyway.
    if (healthy) this.#o.logger.info({ event: 'cluster.redis_connected' }, 'connected to the cluster Redis')
    else if (!this.#closed) this.#o.logger.warn({ event: 'cluster.redis_lost' }, 'lost the cluster Redis: changes are refused until it is back')
    this.#o.onHealth(healthy)
  }
}
