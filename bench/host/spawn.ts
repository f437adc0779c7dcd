// Starts bench/host/child.ts as a child process and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface HostStats {
  eventLoop: { p50: number; p99: number; max: number; mean: number }
  rssMiB: number
  vectors: { sessions: number; vectors: number; bytes: number; hnswIndexes: number; building: number }
}

export interface HostProcess {
  url: string
  publicKey: string
  reset(): Promise<void>
  stats(): Promise<HostStats>
  stop(): Promise<void>
}

export async function startHostProcess(env: Record<string, string> = {}): Promise<HostProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-bench-'))
  const child: ChildProcess = fork(new URL('./child.ts', import.meta.url), [], {
    execArgv: ['--import=tsx', '--conditions=rsh-source'],
    env: { ...process.env, LOG_LEVEL: 'warn', DATA_DIR: dataDir, HTTP_RATE_LIMIT_MAX: '0', RATE_LIMIT_PER_SEC: '0', MAX_CONNECTIONS: '100000', ...env },
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
  const ready = await next('ready')
  return {
    url: ready.url,
    publicKey: ready.publicKey,
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
    async stop() {
      const exited = new Promise((r) => child.once('exit', r))
      child.send({ cmd: 'stop' })
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
