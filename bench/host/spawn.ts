// Starts bench/host/child.ts as a child process and talks to it over IPC.
// startMainProcess runs the real entry point (src/main.ts) instead, to time a
// start the way an operator sees it (its journal.recovered and host.started lines).
import type { RecoveryReport as JournalRecovery } from '../../src/journal/recovery.js'
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface HostStats {
  eventLoop: { p50: number; p99: number; max: number; mean: number }
  rssMiB: number
  vectors: { sessions: number; vectors: number; bytes: number; hnswIndexes: number; building: number }
  /** Since the last reset(). */
  sinceReset: {
    ms: number
    /** CPU time of the whole host process (all its threads). */
    cpuMs: { user: number; system: number }
    /** Share of the time the host's main thread was busy (performance.eventLoopUtilization). */
    elu: number
    requests: number
    fsyncs: number
    fsyncMs: number
    snapshots: number
    /** Garbage collections: full (mark-compact) pauses, and all kinds. */
    gc: GcStats
    /** Journal commits, call to durable (ms); only with BENCH_TRACE_COMMIT=1 in the host's environment. */
    commits: { n: number; records: number; p50: number; p99: number; mean: number } | null
  }
  /** The journal's segments on disk now; null with PERSIST=false. */
  journal: { bytes: number; segments: number; healthy: boolean } | null
}

export interface GcStats {
  major: number
  majorMs: number
  majorMaxMs: number
  all: number
  allMs: number
}

export interface SnapshotStats {
  /** The IPC command's time: rotation, capture, encode, seal, write, fsync, rename. */
  wallMs: number
  /** The journal's own measure (rsh_snapshot_duration_seconds): capture to durable rename. */
  ms: number
  bytes: number
  eventLoop: HostStats['eventLoop']
  /** Garbage collections while it was written. */
  gc: GcStats
}

/** journal.recovered's report as the host process sends it (JSON: no undefined). */
export type RecoveryReport = Omit<JournalRecovery, 'nextSegment' | 'damaged'>

export interface HostProcess {
  /** The host's process id (its memory can be read from /proc/<pid>/status, signals sent to it). */
  pid: number
  url: string
  publicKey: string
  dataDir: string
  /** From fork() to the host listening, ms (this process's clock). */
  startMs: number
  /** What the journal recovered at start; null with PERSIST=false. */
  recovery: RecoveryReport | null
  reset(): Promise<void>
  stats(): Promise<HostStats>
  /** PERSIST=true only: a snapshot now, with the host's event-loop delay while it was written. */
  snapshot(): Promise<SnapshotStats>
  /** A full GC of the host's main thread (needs nodeArgs --expose-gc; else collected: false). */
  gc(): Promise<{ collected: boolean; rssMiB: number }>
  /** SIGKILL: a crash. Nothing is flushed or snapshotted; the data directory is kept. */
  kill(): Promise<void>
  /** A clean shutdown; deletes the data directory unless it was given in `opts.dataDir`. */
  stop(): Promise<void>
}

export interface HostOptions {
  /** Use (and keep) this DATA_DIR instead of a fresh temporary one. */
  dataDir?: string
  /** Extra node options for the host process (e.g. --trace-gc, --cpu-prof). */
  nodeArgs?: string[]
}

const BASE_ENV = {
  LOG_LEVEL: 'warn',
  HTTP_RATE_LIMIT_MAX: '0',
  RATE_LIMIT_PER_SEC: '0',
  MAX_CONNECTIONS: '100000',
  // As npm start, the Dockerfile and the systemd unit run the host (docs/OPERATIONS.md, "Memory"); a caller's own value wins.
  GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.mmap_threshold=262144',
}

export async function startHostProcess(env: Record<string, string> = {}, opts: HostOptions = {}): Promise<HostProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rsh-bench-'))
  const t0 = performance.now()
  const child: ChildProcess = fork(new URL('./child.ts', import.meta.url), [], {
    execArgv: ['--import=tsx', '--conditions=rsh-source', ...(opts.nodeArgs ?? [])],
    env: { ...process.env, ...BASE_ENV, DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = (type: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: any): void => {
        if (m?.type !== type) return
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(m)
      }
      const onExit = (code: number | null): void => reject(new Error(`bench host exited (${code})`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  const exited = new Promise((r) => child.once('exit', r))
  const ready = await next('ready')
  const startMs = performance.now() - t0
  return {
    pid: child.pid!,
    url: ready.url,
    publicKey: ready.publicKey,
    dataDir,
    startMs,
    recovery: ready.recovery,
    async reset() {
      const p = next('reset')
      child.send({ cmd: 'reset' })
      await p
    },
    async stats() {
      const p = next('stats')
      child.send({ cmd: 'stats' })
      return p
    },
    async snapshot() {
      const p = next('snapshot')
      child.send({ cmd: 'snapshot' })
      const r = await p
      if (r.error) throw new Error(r.error)
      return r
    },
    async gc() {
      const p = next('gc')
      child.send({ cmd: 'gc' })
      return p
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
    async stop() {
      child.send({ cmd: 'stop' })
      await exited
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export interface MainStart {
  /** From spawn() to the `host.started` line's time, ms. */
  startedMs: number
  /** The `journal.recovered` line (its `ms` is the recovery alone), if there was one. */
  recovered: { sessions: number; messages: number; vectors: number; bytes: number; records: number; ms: number; snapshot: number | null; segments: number } | null
}

/**
 * Starts the real entry point (src/main.ts, under tsx like `npm run dev`) on
 * `dataDir`, waits for its `host.started` line, then kills it (SIGKILL: no
 * shutdown snapshot, the directory is left as it was, so the next start
 * recovers the same files).
 */
export async function startMainProcess(dataDir: string, env: Record<string, string> = {}): Promise<MainStart> {
  const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, ['--import=tsx', '--conditions=rsh-source', main], {
    env: { ...process.env, ...BASE_ENV, LOG_LEVEL: 'info', PORT: '0', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((r) => child.once('exit', r))
  try {
    return await new Promise<MainStart>((resolve, reject) => {
      let recovered: MainStart['recovered'] = null
      child.once('exit', (code) => reject(new Error(`host exited (${code}) before host.started`)))
      createInterface({ input: child.stdout }).on('line', (line) => {
        let entry: { event?: string; time?: string | number; [k: string]: unknown }
        try {
          entry = JSON.parse(line)
        } catch {
          return
        }
        if (entry.event === 'journal.recovered') recovered = entry as unknown as MainStart['recovered']
        if (entry.event !== 'host.started') return
        // The line's own time (pino: ISO, ms resolution), not when the pipe delivered it.
        const at = typeof entry.time === 'string' ? Date.parse(entry.time) : typeof entry.time === 'number' ? entry.time : Date.now()
        resolve({ startedMs: at - spawnedAt, recovered })
      })
    })
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}
