// The real host in a child process, as an operator runs it: src/main.ts (or
// any command, such as `npm start`), configured by environment variables only,
// its pino JSON stdout parsed line by line. Tests wait on those lines and on the
// exit, never on time; they signal the process as an orchestrator would.
//
// Every child runs in its own process group, so teardown can end it and all it
// spawned (npm's shell and node), even when the test failed half way.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64 } from '@rag-session-host/client/shared'
import { SETTINGS } from '../../src/config.js'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string }
export type LineMatch = ((line: LogLine) => boolean) | Record<string, unknown>

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface Teardown {
  teardown(fn: () => unknown): void
  passing?(): boolean
  comment?(...args: unknown[]): void
}

export interface Command {
  file: string
  args: string[]
}

/** `node src/main.ts` through tsx, with the same loader and conditions as the tests. */
export function sourceHostCommand(): Command {
  return { file: process.execPath, args: [`--import=${pathToFileURL(join(REPO_ROOT, 'test/loader/tsx.mjs')).href}`, '--conditions=rsh-source', join(REPO_ROOT, 'src/main.ts')] }
}

export interface HostProcessOptions {
  dataDir: string
  secretKey: Uint8Array
  /** Settings by environment variable name; they win over the defaults below. */
  env?: Record<string, string>
  /** What to run (default: sourceHostCommand()). It runs in REPO_ROOT. */
  command?: Command
  /** How long to wait for host.started (default 30 s: a cold tsx start on a busy machine). */
  startTimeoutMs?: number
}

/** Process groups still running, ended if the test process exits without its teardown (a tap timeout). */
const live = new Set<number>()
process.once('exit', () => {
  for (const pgid of live) killGroup(pgid, 'SIGKILL')
})

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: nothing of it is left.
  }
}

/**
 * The host's environment: the caller's, without any host setting it may carry,
 * then the test's. The caller's NODE_OPTIONS stay: under tap they load its
 * process tracking, so a child that exits normally adds its coverage (src/main.ts).
 */
export function hostEnv(opts: Pick<HostProcessOptions, 'dataDir' | 'secretKey' | 'env'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const s of Object.values(SETTINGS)) delete env[s.env]
  return {
    ...env,
    DATA_DIR: opts.dataDir,
    HOST_SECRET_KEY: encodeBase64(opts.secretKey),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    HTTP_RATE_LIMIT_MAX: '0',
    RATE_LIMIT_PER_SEC: '0',
    ...opts.env,
  }
}

export class HostProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Every stdout line that is JSON, parsed, in order. */
  readonly lines: LogLine[] = []
  /** Stdout lines that are not JSON (npm's banner), and all of stderr. */
  readonly text: string[] = []
  stderr = ''
  /** Resolves once the process has exited and its output has been read to the end. */
  readonly exited: Promise<Exit>
  exit: Exit | undefined
  url = ''
  wsUrl = ''
  hostPublicKey: Uint8Array = new Uint8Array(32)
  #waiters: { accepts: (l: LogLine) => boolean; resolve: (l: LogLine) => void; reject: (e: Error) => void }[] = []

  constructor(opts: HostProcessOptions) {
    const command = opts.command ?? sourceHostCommand()
    this.child = spawn(command.file, command.args, { cwd: REPO_ROOT, env: hostEnv(opts), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    if (this.child.pid === undefined) throw new Error(`could not spawn ${command.file}`)
    this.pid = this.child.pid
    live.add(this.pid)
    this.child.stderr!.setEncoding('utf8')
    this.child.stderr!.on('data', (chunk: string) => (this.stderr += chunk))
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.#line(text))
    this.exited = new Promise<Exit>((resolve, reject) => {
      this.child.once('error', reject)
      // 'close': the process has exited and every stdio stream has ended, so no log line is still on its way.
      this.child.once('close', (code, signal) => {
        live.delete(this.pid)
        this.exit = { code, signal }
        const err = new Error(`host process exited (code ${code}, signal ${signal}) first`)
        for (const w of this.#waiters.splice(0)) w.reject(err)
        resolve(this.exit)
      })
    })
    this.exited.catch(() => undefined)
  }

  #line(text: string): void {
    let line: LogLine
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a log line')
      line = parsed as LogLine
    } catch {
      this.text.push(text)
      return
    }
    this.lines.push(line)
    for (const w of this.#waiters.filter((w) => w.accepts(line))) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1)
      w.resolve(line)
    }
  }

  events(name: string): LogLine[] {
    return this.lines.filter((l) => l.event === name)
  }

  /** Position of the first line named `name` (matching `match`) in the log, or -1. */
  indexOf(name: string, match: LineMatch = () => true): number {
    const accepts = acceptor(name, match)
    return this.lines.findIndex(accepts)
  }

  /** The first line named `name` that `match` accepts (a predicate, or fields it must equal), logged already or still to come; rejects on exit or timeout. */
  waitFor(name: string, match: LineMatch = () => true, timeoutMs = 15_000): Promise<LogLine> {
    const accepts = acceptor(name, match)
    const found = this.lines.find(accepts)
    if (found) return Promise.resolve(found)
    if (this.exit) return Promise.reject(new Error(`host process exited (code ${this.exit.code}, signal ${this.exit.signal}) without logging ${name}`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error(`no matching ${name} log line within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = {
        accepts,
        resolve: (l: LogLine) => (clearTimeout(timer), resolve(l)),
        reject: (e: Error) => (clearTimeout(timer), reject(new Error(`${e.message} without logging ${name}`))),
      }
      this.#waiters.push(waiter)
    })
  }

  /** Sends `signal` to the process itself (for `npm start`: to npm, not to the node it runs). */
  kill(signal: NodeJS.Signals): void {
    if (!this.exit) process.kill(this.pid, signal)
  }

  /** Sends `signal` to the process and everything it spawned. */
  killGroup(signal: NodeJS.Signals): void {
    killGroup(this.pid, signal)
  }

  /** Ends the whole group at once (SIGKILL) and waits for the exit: teardown. */
  async destroy(): Promise<Exit> {
    if (!this.exit) this.killGroup('SIGKILL')
    return this.exited
  }

  /** The last lines of output, for a failure's diagnostics. */
  tail(n = 25): string {
    return [...this.lines.slice(-n).map((l) => JSON.stringify(l)), ...this.text.slice(-n), this.stderr.slice(-4000)].join('\n')
  }
}

function acceptor(name: string, match: LineMatch): (l: LogLine) => boolean {
  const matches = typeof match === 'function' ? match : (line: LogLine) => Object.entries(match).every(([k, v]) => line[k] === v)
  return (line) => line.event === name && matches(line)
}

/** Spawns the host and waits for host.started; the process is ended in teardown whatever happened. */
export async function startHostProcess(t: Teardown, opts: HostProcessOptions): Promise<HostProcess> {
  const host = new HostProcess(opts)
  t.teardown(async () => {
    if (t.passing && !t.passing()) t.comment?.(`host process ${host.pid} output:\n${host.tail()}`)
    await host.destroy()
  })
  await ready(host, opts.startTimeoutMs)
  return host
}

async function ready(host: HostProcess, timeoutMs = 30_000): Promise<void> {
  let started: LogLine
  try {
    started = await host.waitFor('host.started', () => true, timeoutMs)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${host.tail()}`)
  }
  host.url = String(started.url)
  host.wsUrl = String(started.ws_url)
  const key = decodeBase64(String(started.public_key))
  if (key?.length !== 32) throw new Error(`host.started has no public_key: ${JSON.stringify(started)}`)
  host.hostPublicKey = key
}

/**
 * A DATA_DIR and host key that outlive one host process (a restart uses both),
 * and the processes started on it: teardown ends them all, then removes the directory.
 */
export class DurableHome {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'rsh-proc-'))
  readonly secretKey = nacl.box.keyPair().secretKey
  readonly processes: HostProcess[] = []

  constructor(private readonly t: Teardown) {
    t.teardown(async () => {
      const failed = t.passing ? !t.passing() : false
      for (const p of this.processes) {
        if (failed) t.comment?.(`host process ${p.pid} output:\n${p.tail()}`)
        await p.destroy()
      }
      rmSync(this.dataDir, { recursive: true, force: true })
    })
  }

  /** Spawns a host on this home (without waiting for it to start). */
  spawn(opts: Omit<HostProcessOptions, 'dataDir' | 'secretKey'> = {}): HostProcess {
    const p = new HostProcess({ ...opts, dataDir: this.dataDir, secretKey: this.secretKey })
    this.processes.push(p)
    return p
  }

  /** Spawns a host on this home and waits for host.started. */
  async start(opts: Omit<HostProcessOptions, 'dataDir' | 'secretKey'> = {}): Promise<HostProcess> {
    const p = this.spawn(opts)
    await ready(p, opts.startTimeoutMs)
    return p
  }
}
