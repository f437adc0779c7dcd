// Forks one of bench/compare's tiny servers (echo-server.ts, nacl-host.ts) in
// its own process and waits for it to say which port it listens on.
import { fork, type ChildProcess } from 'node:child_process'

export interface ChildServer {
  url: string
  pid: number
  /** What the server announced besides its port (nacl-host.ts: its box public key). */
  publicKey: string | undefined
  stop(): Promise<void>
}

interface Ready {
  type: 'ready'
  port: number
  publicKey?: string
}

export async function forkServer(file: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const child: ChildProcess = fork(new URL(file, import.meta.url), [], {
    execArgv: ['--import=tsx', '--conditions=rsh-source'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m: Partial<Ready>) =>
      m.type === 'ready' && typeof m.port === 'number' ? resolve(m as Ready) : reject(new Error(`${file}: unexpected ${JSON.stringify(m)}`)),
    )
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening`)))
  })
  return {
    url: `ws://127.0.0.1:${ready.port}`,
    pid: child.pid ?? -1,
    publicKey: ready.publicKey,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
