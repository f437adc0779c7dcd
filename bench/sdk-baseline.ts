// npm run bench:sdk-baseline -- <dir of an older checkout>: this SDK against
// an older one (e.g. `git worktree add ../base fd66b7b`, 0.2.0), side by side in one
// run against one host in its own process. Rounds alternate between the two
// clients, so a noisy machine slows both alike; the table reports medians over
// rounds and the ratio of ours to the baseline. The baseline's SDK is loaded
// from `<dir>/src/client/index.ts` (0.2.0's layout) or `<dir>/sdk/src/index.node.ts`.
import { existsSync } from 'node:fs'
import os from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as ours from '@rag-session-host/client'
import { startHostProcess } from './host/spawn.js'
import { median, summarize } from './lib/stats.js'

interface Client {
  openSession(id: string): Promise<unknown>
  ping(): Promise<unknown>
  close(): Promise<void>
}
interface Sdk {
  SessionClient: { connect(url: string, opts?: { hostPublicKey?: string }): Promise<Client> }
}

const ROUNDS = 7
const PINGS = 1000
const INITS = 200

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: npm run bench:sdk-baseline -- <dir of an older checkout>\n')
  process.exit(2)
}
const entry = [resolve(dir, 'src/client/index.ts'), resolve(dir, 'sdk/src/index.node.ts')].find((f) => existsSync(f))
if (!entry) {
  process.stderr.write(`no SDK found in ${dir} (looked for src/client/index.ts and sdk/src/index.node.ts)\n`)
  process.exit(2)
}
const baseline = (await import(pathToFileURL(entry).href)) as Sdk
const sdks: Record<string, Sdk> = { baseline, ours }

// Every init here creates a session: room for all of them, and no rate limit (spawn.ts lifts it).
const host = await startHostProcess({ MAX_SESSIONS: '100000' })
const perRound: Record<string, { pingP50: number[]; pingP99: number[]; initsPerSec: number[] }> = {}
for (const name of Object.keys(sdks)) perRound[name] = { pingP50: [], pingP99: [], initsPerSec: [] }

let n = 0
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, sdk] of Object.entries(sdks)) {
      const client = await sdk.SessionClient.connect(host.url, { hostPublicKey: host.publicKey })
      // Inits: one client re-opening sessions back to back (client and host crypto, one round trip each).
      const t0 = performance.now()
      for (let i = 0; i < INITS; i++) await client.openSession(`bench-${name}-${n++}`)
      perRound[name]!.initsPerSec.push(INITS / ((performance.now() - t0) / 1000))
      // Pings: the whole stack of an empty operation (seal, send, dispatch, reply, open).
      const times: number[] = []
      for (let i = 0; i < PINGS; i++) {
        const s = performance.now()
        await client.ping()
        times.push(performance.now() - s)
      }
      const { p50, p99 } = summarize(times)
      perRound[name]!.pingP50.push(p50 * 1000)
      perRound[name]!.pingP99.push(p99 * 1000)
      await client.close()
    }
  }
} finally {
  await host.stop()
}

const cpu = os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'
const row = (what: string, key: 'pingP50' | 'pingP99' | 'initsPerSec', lowerIsBetter: boolean, digits: number): string => {
  const b = median(perRound.baseline![key])
  const o = median(perRound.ours![key])
  const ratio = lowerIsBetter ? b / o : o / b
  return `| ${what} | ${b.toFixed(digits)} | ${o.toFixed(digits)} | ${ratio.toFixed(2)}× |`
}
console.log(`Machine: ${cpu} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; baseline ${entry}\n`)
console.log('| One client, median of 7 alternating rounds | baseline | ours | ours vs baseline (>1 is faster) |')
console.log('| --- | ---: | ---: | ---: |')
console.log(row(`ping round trip p50 (µs, ${PINGS} sequential)`, 'pingP50', true, 0))
console.log(row('ping round trip p99 (µs)', 'pingP99', true, 0))
console.log(row(`openSession / s (${INITS} back to back)`, 'initsPerSec', false, 0))
