// A real redis-server for the cluster tests: its own process group, a free port
// on 127.0.0.1, a mkdtemp directory that outlives restarts, and durable writes
// (appendonly yes, appendfsync always: a write is fsynced before Redis
// acknowledges it; save "": no RDB snapshots beside the AOF).
//
// Started means its stdout said "Ready to accept connections": the wait is on
// that line, and on the exit if it dies first. stop() (SIGTERM), kill()
// (SIGKILL), start() (same port, same directory, so the data comes back),
// pause()/resume() (SIGSTOP/SIGCONT: a server that hangs without closing its sockets).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Daemon, freePort, procState, type Exit, type Teardown } from './cluster-tools.js'

export interface RedisServerOptions {
  /** Sets `requirepass`: clients must authenticate (`url` carries it). */
  password?: string
  /** How long start() waits for the ready line (default 15 s). */
  startTimeoutMs?: number
}

const READY = /Ready to accept connections/
const PORT_TAKEN = /Address already in use/

export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'rsh-redis-'))
  readonly password: string | undefined
  port = 0
  /** The running process, or the last one. */
  daemon: Daemon | undefined
  paused = false
  readonly #startTimeoutMs: number

  constructor(opts: RedisServerOptions = {}) {
    this.password = opts.password
    this.#startTimeoutMs = opts.startTimeoutMs ?? 15_000
  }

  /** redis://127.0.0.1:PORT, with the password when one is set. */
  get url(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`
    return `redis://${auth}127.0.0.1:${this.port}`
  }

  /** The same server without credentials: what a misconfigured client would use. */
  get urlWithoutPassword(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.daemon !== undefined && this.daemon.exit === undefined
  }

  get pid(): number | undefined {
    return this.running ? this.daemon!.pid : undefined
  }

  /**
   * Starts redis-server and waits until it accepts connections. The first start
   * picks a free port (another with a fresh one if that port was taken meanwhile);
   * later starts reuse the port and the directory, so acknowledged data persists.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error('redis-server is already running')
    const first = this.port === 0
    for (let attempt = 1; ; attempt++) {
      if (first) this.port = await freePort()
      try {
        await this.#spawn()
        return
      } catch (err) {
        const taken = this.daemon?.lines.some((l) => PORT_TAKEN.test(l)) ?? false
        if (!(first && taken && attempt < 5)) throw err
      }
    }
  }

  async #spawn(): Promise<void> {
    // A config file rather than arguments: the password stays out of `ps`.
    const conf = join(this.dir, 'redis.conf')
    const lines = [
      `port ${this.port}`,
      'bind 127.0.0.1',
      `dir ${JSON.stringify(this.dir)}`,
      'daemonize no',
      // Logs to stdout, where the ready line is awaited.
      'logfile ""',
      'appendonly yes',
      'appendfsync always',
      'save ""',
      ...(this.password === undefined ? [] : [`requirepass ${JSON.stringify(this.password)}`]),
    ]
    writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 })
    this.paused = false
    this.daemon = new Daemon(`redis-server :${this.port}`, 'redis-server', [conf], { cwd: this.dir })
    await this.daemon.waitForLine(READY, this.#startTimeoutMs)
  }

  /** SIGTERM: Redis fsyncs its AOF and exits; resolves with the exit. */
  async stop(): Promise<Exit> {
    const daemon = this.#current('stop')
    daemon.signal('SIGTERM')
    // A stopped process only acts on SIGTERM once it runs again.
    if (this.paused) this.#cont(daemon)
    return daemon.exited
  }

  /** SIGKILL to the process group: a crash, nothing flushed beyond what was fsynced. */
  async kill(): Promise<Exit> {
    const daemon = this.#current('kill')
    daemon.signal('SIGKILL')
    return daemon.exited
  }

  /** SIGSTOP: the server keeps its sockets open and answers nothing. Resolves once the kernel reports it stopped. */
  async pause(): Promise<void> {
    const daemon = this.#current('pause')
    daemon.signal('SIGSTOP')
    this.paused = true
    await waitForProcState(daemon.pid, (s) => s === 'T', 'stopped')
  }

  /** SIGCONT: it carries on with whatever was sent meanwhile. Resolves once it runs again. */
  async resume(): Promise<void> {
    const daemon = this.#current('resume')
    this.#cont(daemon)
    await waitForProcState(daemon.pid, (s) => s !== 'T', 'running')
  }

  #cont(daemon: Daemon): void {
    daemon.signal('SIGCONT')
    this.paused = false
  }

  #current(what: string): Daemon {
    if (!this.running) throw new Error(`cannot ${what}: redis-server is not running`)
    return this.daemon!
  }

  /** Teardown: SIGKILL whatever runs, then remove the directory. */
  async destroy(): Promise<void> {
    await this.daemon?.destroy()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * Resolves once /proc shows `pid` in the wanted state. Signal delivery is
 * asynchronous and announces nothing, so this polls, every 2 ms for at most 2 s.
 * Where there is no /proc it returns at once.
 */
async function waitForProcState(pid: number, ok: (state: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000
  for (;;) {
    const state = await procState(pid)
    if (state === undefined || ok(state)) return
    if (Date.now() > deadline) throw new Error(`redis-server ${pid} not ${what} after 2 s (state ${state})`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** Starts a redis-server for test `t`; teardown kills it (its whole process group) and removes its directory, whatever happened. */
export async function startRedisServer(t: Teardown, opts: RedisServerOptions = {}): Promise<RedisServer> {
  const redis = new RedisServer(opts)
  t.teardown(async () => {
    if (t.passing && !t.passing()) t.comment?.(`redis-server output:\n${redis.daemon?.tail() ?? '(never started)'}`)
    await redis.destroy()
  })
  await redis.start()
  return redis
}
