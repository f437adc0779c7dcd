// A corrupt host key file in DATA_DIR: the host refuses to start, names the
// file, and leaves it as it was (a new key would silently change the host's
// identity under every client that pinned it).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { HOST_KEY_FILE } from '../../src/crypto/host-identity.js'
import { buildServer } from '../../src/server.js'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { captureLogger } from '../helpers/silent-logger.js'

const CORRUPT: [string, string][] = [
  ['garbage', 'this is not a key\n'],
  ['base64 of 31 bytes', encodeBase64(new Uint8Array(31).fill(7)) + '\n'],
  ['base64 of 64 bytes (an Ed25519 secret key?)', encodeBase64(new Uint8Array(64).fill(7)) + '\n'],
  ['empty', ''],
]

function dataDirWith(t: { teardown(fn: () => unknown): void }, content: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, HOST_KEY_FILE)
  writeFileSync(file, content, { mode: 0o600 })
  return { dir, file }
}

t.test('buildServer refuses a corrupt host.key, naming the file, and leaves it alone', async (t) => {
  for (const [name, content] of CORRUPT) {
    const { dir, file } = dataDirWith(t, content)
    const config = loadConfig({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' })
    t.equal(config.hostSecretKey, undefined, 'no HOST_SECRET_KEY: the file is the identity')
    const err = (await buildServer(config, { logger: captureLogger().logger }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error | undefined
    t.ok(err instanceof Error, `${name}: refused`)
    t.match(err?.message, `${file} does not hold base64 of 32 bytes`, `${name}: the message names the file`)
    t.equal(readFileSync(file, 'utf8'), content, `${name}: the file is left as it was`)
  }
})

t.test('the host process exits 1 on a corrupt host.key, and says which file', async (t) => {
  const { dir, file } = dataDirWith(t, 'this is not a key\n')
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }
  delete env.HOST_SECRET_KEY
  const res = spawnSync(process.execPath, ['--import=tsx', '--conditions=rsh-source', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url),
    env,
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(res.status, 1)
  const lines = res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event?: string; level?: string; err?: { message?: string } })
  const failed = lines.find((l) => l.event === 'host.start_failed')
  t.equal(failed?.level, 'fatal')
  t.match(failed?.err?.message, `${file} does not hold base64 of 32 bytes`)
  t.notOk(
    lines.some((l) => l.event === 'host.started'),
    'it never listened',
  )
  t.equal(readFileSync(file, 'utf8'), 'this is not a key\n')
})
