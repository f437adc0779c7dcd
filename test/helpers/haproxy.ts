// HAProxy for the cluster tests, running the operators' own deploy/haproxy.cfg:
// `haproxy -db` (foreground) in its own process group, the config's
// environment variables pointing it at a free port and the tests' hosts, its
// runtime API on a unix socket in a mkdtemp directory.
//
// Ready means the runtime API answers and the frontend accepts a TCP
// connection. HAProxy announces neither (no log line at start; the sd_notify
// READY of master-worker mode needs a datagram socket Node cannot open), so
// the start polls the socket briefly; a bind failure ends the process, which
// ends the wait at once.
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './host-process.js'
import { Daemon, freePort, type Teardown } from './cluster-tools.js'

export const HAPROXY_CFG = join(REPO_ROOT, 'deploy/haproxy.cfg')
/** The backend of deploy/haproxy.cfg, and its server names in RSH_HOST1..3 order. */
export const BACKEND = 'rsh_hosts'
export const SERVER_NAMES = ['host1', 'host2', 'host3'] as const

export interface HaproxyOptions {
  /** The hosts' "address:port", for host1, host2, host3. */
  backends: readonly [string, string, string]
  /** RSH_CHECK_INTER (default here 500ms, so a dead host is DOWN within about a second; the file's default is 1s). */
  checkInter?: string
  /** Further environment variables for haproxy. */
  env?: Record<string, string>
  /** How long to wait for it to listen (default 10 s). */
  startTimeoutMs?: number
}

/** One server of the backend, as `show stat` reports it. */
export interface ServerState {
  /** host1, host2 or host3. */
  name: string
  /** The address it was configured with (RSH_HOSTn). */
  addr: string
  /** HAProxy's status: UP, DOWN, "UP 1/2" (up, one check failed), "DOWN 1/2" (down, one check passed), MAINT, ... */
  status: string
  /** In rotation: UP, including "UP 1/2" while it is going down. */
  up: boolean
  /** Last check: L7OK (/ready said 200), L7STS (another status), L4CON (refused), L4TOUT/L7TOUT (no answer), INI (not yet checked). */
  checkStatus: string
  /** Connections (WebSocket tunnels included) open to it now. */
  sessions: number
}

const PORT_TAKEN = /cannot bind socket|Address already in use/

export class Haproxy {
  readonly dir = mkdtempSync(join(tmpdir(), 'rsh-haproxy-'))
  readonly socketPath = join(this.dir, 'admin.sock')
  port = 0
  daemon: Daemon | undefined

  constructor(readonly opts: HaproxyOptions) {}

  /** http://127.0.0.1:PORT: the balancer's address, what clients use. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Starts haproxy on a free port (another one if that port was taken meanwhile) and waits until it listens. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort()
      this.daemon = new Daemon(`haproxy :${this.port}`, 'haproxy', ['-db', '-f', HAPROXY_CFG], { cwd: REPO_ROOT, env: this.#env() })
      try {
        await this.#ready(this.daemon, this.opts.startTimeoutMs ?? 10_000)
        return
      } catch (err) {
        await this.daemon.destroy()
        if (!(this.daemon.lines.some((l) => PORT_TAKEN.test(l)) && attempt < 5)) throw err
      }
    }
  }

  #env(): NodeJS.ProcessEnv {
    const [h1, h2, h3] = this.opts.backends
    return {
      ...process.env,
      RSH_LISTEN: `127.0.0.1:${this.port}`,
      RSH_HOST1: h1,
      RSH_HOST2: h2,
      RSH_HOST3: h3,
      RSH_STATS_SOCKET: this.socketPath,
      RSH_CHECK_INTER: this.opts.checkInter ?? '500ms',
      ...this.opts.env,
    }
  }

  async #ready(daemon: Daemon, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // Polled every 10 ms: HAProxy signals nothing when it is up (see the top of this file).
    for (;;) {
      if (daemon.exit) throw new Error(`haproxy exited (code ${daemon.exit.code}, signal ${daemon.exit.signal}) before listening\n${daemon.tail()}`)
      const info = await this.command('show info').catch(() => undefined)
      if (info?.includes('Name: HAProxy')) break
      if (Date.now() > deadline) throw new Error(`haproxy's runtime API did not answer within ${timeoutMs} ms\n${daemon.tail()}`)
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 10)), daemon.exited])
    }
    // Listeners are bound before the runtime API serves, so the frontend takes connections now: check it once.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve()))
      socket.once('error', (err) => reject(new Error(`haproxy's frontend on ${this.port} refused a connection: ${err.message}`)))
    })
  }

  /** One runtime API command ("show stat", "disable server rsh_hosts/host1", ...); resolves with the whole answer. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(this.socketPath)
      let answer = ''
      socket.setEncoding('utf8')
      socket.once('connect', () => socket.write(`${line}\n`))
      socket.on('data', (chunk: string) => (answer += chunk))
      // Without "prompt", HAProxy answers one command and closes the connection.
      socket.once('end', () => resolve(answer))
      socket.once('error', reject)
    })
  }

  /** The backend's servers, host1..host3, read now from the runtime API (`show stat`). */
  async serverStates(): Promise<ServerState[]> {
    const csv = await this.command('show stat')
    const [header, ...rows] = csv.split('\n').filter((l) => l.trim() !== '')
    if (!header?.startsWith('# ')) throw new Error(`unexpected "show stat" answer: ${csv.slice(0, 200)}`)
    const fields = header.slice(2).split(',')
    const col = (row: string[], name: string): string => row[fields.indexOf(name)] ?? ''
    return rows
      .map((r) => r.split(','))
      .filter((row) => col(row, 'pxname') === BACKEND && col(row, 'svname') !== 'BACKEND')
      .map((row) => {
        const status = col(row, 'status')
        return {
          name: col(row, 'svname'),
          addr: col(row, 'addr'),
          status,
          up: status.startsWith('UP'),
          checkStatus: col(row, 'check_status'),
          sessions: Number(col(row, 'scur')),
        }
      })
  }

  /** The server named `name` (host1..host3) now. */
  async server(name: string): Promise<ServerState> {
    const found = (await this.serverStates()).find((s) => s.name === name)
    if (!found) throw new Error(`no server ${name} in ${BACKEND}`)
    return found
  }

  /**
   * Resolves with the server states once `accepts` returns true for them.
   * HAProxy pushes no event when a check changes a server's state, so this
   * re-reads `show stat` every 50 ms (a check interval in the tests is 500 ms),
   * for at most `timeoutMs`.
   */
  async waitFor(accepts: (states: ServerState[]) => boolean, what = 'the server states wanted', timeoutMs = 15_000): Promise<ServerState[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const daemon = this.daemon
      if (!daemon || daemon.exit) throw new Error(`haproxy is not running while waiting for ${what}`)
      const states = await this.serverStates()
      if (accepts(states)) return states
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; servers: ${JSON.stringify(states)}\n${daemon.tail()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Resolves once every server is UP after a passing /ready check. */
  waitForAllUp(timeoutMs?: number): Promise<ServerState[]> {
    return this.waitFor((s) => s.length === SERVER_NAMES.length && s.every((x) => x.status === 'UP' && x.checkStatus === 'L7OK'), 'every server UP', timeoutMs)
  }

  /** Resolves once server `name` is in the state wanted: 'UP' (in rotation, last check passed) or 'DOWN' (out of rotation). */
  waitForServer(name: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<ServerState[]> {
    return this.waitFor(
      (all) => {
        const s = all.find((x) => x.name === name)
        return state === 'UP' ? s?.status === 'UP' && s.checkStatus === 'L7OK' : s !== undefined && !s.up
      },
      `${name} ${state}`,
      timeoutMs,
    )
  }

  /** Teardown: SIGKILL its process group, remove the directory. */
  async destroy(): Promise<void> {
    await this.daemon?.destroy()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Starts haproxy with deploy/haproxy.cfg in front of `opts.backends`; teardown kills it whatever happened. */
export async function startHaproxy(t: Teardown, opts: HaproxyOptions): Promise<Haproxy> {
  const haproxy = new Haproxy(opts)
  t.teardown(async () => {
    if (t.passing && !t.passing()) t.comment?.(`haproxy output:\n${haproxy.daemon?.tail() ?? '(never started)'}`)
    await haproxy.destroy()
  })
  await haproxy.start()
  return haproxy
}
