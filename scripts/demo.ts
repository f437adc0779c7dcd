// npm run demo: a short scripted session with the SDK, printed step by step.
// Starts a host on a free port in this process, or uses HOST_URL if set.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SessionClient, HostError, generateIdentity } from '@rag-session-host/client'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/ops/logger.js'
import { buildServer, type HostServer } from '../src/server.js'

const bold = (s: string): string => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s)
const say = (step: string, detail = ''): void => {
  process.stdout.write(`${bold(step)}${detail ? `  ${detail}` : ''}\n`)
}

let server: HostServer | undefined
let dataDir: string | undefined
let url = process.env.HOST_URL
if (!url) {
  dataDir = mkdtempSync(join(tmpdir(), 'rsh-demo-'))
  server = await buildServer(loadConfig({}, { port: 0, dataDir }), { logger: createLogger('silent') })
  url = await server.listen()
  say('host started', `${url} (in this process)`)
} else {
  say('using host', url)
}

try {
  const identity = generateIdentity()
  say('identity', `Ed25519 public key ${identity.publicKey}`)
  const client = await SessionClient.connect(url, { identity })
  say('connected', `host key ${client.hostInfo?.public_key} (fetched from /v1/host)`)

  const sessionId = `demo-${Date.now()}`
  const first = await client.openSession(sessionId)
  say('1. session init', JSON.stringify(first))

  await client.appendMessage('user', 'What is a vector index?')
  await client.appendMessage('assistant', 'A structure that finds the nearest vectors quickly.')
  say('2. appended two messages')

  await client.uploadVectors([
    { id: 'doc-a', vector: [1, 0, 0], metadata: { topic: 'cats' } },
    { id: 'doc-b', vector: [0.9, 0.1, 0], metadata: { topic: 'dogs' } },
  ])
  const again = await client.openSession(sessionId)
  say('3. re-init with a new key', JSON.stringify(again))

  const history = await client.getHistory()
  say('4. history still there', history.messages.map((m) => `#${m.seq} ${m.role}: ${m.content}`).join(' | '))
  const found = await client.searchVectors([1, 0, 0], { k: 2 })
  say('   vectors still there', found.results.map((r) => `${r.id} ${r.score.toFixed(3)}`).join(', '))

  const intruder = await SessionClient.connect(url)
  try {
    await intruder.openSession(sessionId)
    say('5. second identity', 'UNEXPECTEDLY ACCEPTED')
    process.exitCode = 1
  } catch (err) {
    say('5. second identity refused', err instanceof HostError ? `${err.code}: ${err.message}` : String(err))
  }
  await intruder.close()

  const next = await client.openSession(sessionId, { newAttempt: true })
  say('6. new attempt', `attempt ${next.attempt}, ${next.history} messages in it, ${next.history_total} kept in all`)
  await client.close()
  say('done')
} finally {
  await server?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}
