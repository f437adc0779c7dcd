// What the cluster tests (test/cluster/) need from the machine: real
// redis-server and haproxy binaries on PATH (Debian's packages), and the
// plumbing shared by their helpers (redis-server.ts, haproxy.ts): a free port,
// and a child process in its own process group whose output lines can be awaited.
//
// Without the binaries `npm test` reports the cluster tests as skipped, naming
// the packages to install; with REQUIRE_CLUSTER=1 (`npm run test:cluster`, CI)
// they fail, so CI never passes without running them. Mirrors test/browser/chromium.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Test } from 'tap'

export const CLUSTER_PACKAGES = ['redis-server', 'haproxy'] as const
export const INSTALL_HINT = `apt-get install -y ${CLUSTER_PACKAGES.join(' ')}`

/** The executable `name` resolves to on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const file = join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // Not in this directory.
    }
  }
  return undefined
}

/** Why the cluster tests cannot run here, or undefined when they can. */
export function clusterToolsUnavailable(): string | undefined {
  const missing = CLUSTER_PACKAGES.filter((name) => !onPath(name))
  if (missing.length === 0) return undefined
  // Debian puts haproxy in /usr/sbin, which a non-root PATH often lacks.
  return `no ${missing.join(' and no ')} on PATH: install the cluster tools with \`${INSTALL_HINT}\` (haproxy lives in /usr/sbin: keep it on PATH) to run the cluster tests`
}

/**
 * True when the cluster tests of this file can run. Otherwise says loudly why
 * not: a skipped test with the reason, or (REQUIRE_CLUSTER=1) a failing one.
 * Use: `if (requireClusterTools(t)) { t.test(...) }`.
 */
export function requireClusterTools(t: Test, name = 'cluster tests'): boolean {
  const missing = clusterToolsUnavailable()
  if (!missing) return true
  if (process.env.REQUIRE_CLUSTER === '1') {
    void t.test(name, async (t) => t.fail(`REQUIRE_CLUSTER=1 but ${missing}`))
    return false
  }
  process.stderr.write(`\n*** SKIPPED ${name}: ${missing} ***\n\n`)
  void t.test(name, { skip: missing }, () => undefined)
  return false
}

/**
 * A port nobody listens on right now. Another process may take it before the
 * caller binds it: callers retry on "address in use".
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no TCP port from listen(0)')
  return address.port
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Teardown {
  teardown(fn: () => unknown): void
  passing?(): boolean
  comment?(...args: unknown[]): void
}

/** Process groups still running, ended if the test process exits without its teardown (a tap timeout). */
const live = new Set<number>()
process.once('exit', () => {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL')
})

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: nothing of it is left.
  }
}

/**
 * A daemon in the foreground, in its own process group (so teardown ends it and
 * anything it forked), its stdout and stderr read line by line.
 */
export class Daemon {
  readonly child: ChildProcess
  readonly pid: number
  /** Output lines in order, stderr ones prefixed with "stderr: ". */
  readonly lines: string[] = []
  /** Resolves once the process has exited and its output has been read to the end. */
  readonly exited: Promise<Exit>
  exit: Exit | undefined
  #waiters: { re: RegExp; resolve: (line: string) => void }[] = []

  constructor(
    readonly name: string,
    file: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    this.exited = new Promise<Exit>((resolve, reject) => {
      this.child.once('error', reject)
      // 'close': exited and every stdio stream ended, so no line is still on its way.
      this.child.once('close', (code, signal) => {
        live.delete(this.pid)
        this.exit = { code, signal }
        resolve(this.exit)
      })
    })
    this.exited.catch(() => undefined)
    if (this.child.pid === undefined) {
      // spawn() reports ENOENT asynchronously; `exited` rejects with it.
      this.pid = -1
      return
    }
    this.pid = this.child.pid
    live.add(this.pid)
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.#line(line))
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.#line(`stderr: ${line}`))
  }

  #line(line: string): void {
    this.lines.push(line)
    if (this.lines.length > 2000) this.lines.splice(0, 1000)
    for (const w of this.#waiters.filter((w) => w.re.test(line))) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1)
      w.resolve(line)
    }
  }

  /** The first output line matching `re` (already printed or still to come); rejects if the process exits first or after `timeoutMs`. */
  async waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    const found = this.lines.find((l) => re.test(l))
    if (found !== undefined) return found
    let timer: NodeJS.Timeout | undefined
    let waiter: { re: RegExp; resolve: (line: string) => void } | undefined
    try {
      return await Promise.race([
        new Promise<string>((resolve) => {
          waiter = { re, resolve }
          this.#waiters.push(waiter)
        }),
        this.exited.then((e) => {
          throw new Error(`${this.name} exited (code ${e.code}, signal ${e.signal}) before printing ${re}\n${this.tail()}`)
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} printed no ${re} within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs)
        }),
      ])
    } finally {
      clearTimeout(timer)
      if (waiter && this.#waiters.includes(waiter)) this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
    }
  }

  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.exit && this.pid > 0) signalGroup(this.pid, signal)
  }

  /** Ends the whole group at once (SIGKILL) and waits for the exit: teardown. */
  async destroy(): Promise<Exit | undefined> {
    this.signal('SIGKILL')
    return this.exited.catch(() => undefined)
  }

  /** The last lines of output, for a failure's diagnostics. */
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n')
  }
}

/**
 * The scheduler state of `pid` from /proc ('T' when stopped), or undefined
 * where there is no /proc. Used to confirm SIGSTOP/SIGCONT took effect.
 */
export async function procState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}
