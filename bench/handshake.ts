// npm run bench:handshake: what one session init costs the host, native
// crypto against tweetnacl side by side in one run, and inits per second
// over real sockets. Prints a markdown table (docs/BENCHMARKS.md).
import os from 'node:os'
import nacl from 'tweetnacl'
import { boxBefore, x25519PrivateKey, verifyDetached } from '@rag-session-host/client/node-crypto'
import { SessionClient } from '@rag-session-host/client'
import { startHostProcess } from './host/spawn.js'

const ROUNDS = 7
const OPS = 2000

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Median over rounds of the mean microseconds per call; rounds alternate between candidates. */
function compare(cases: Record<string, () => void>): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < OPS; i++) fn()
      samples[name]!.push(Number(process.hrtime.bigint() - t0) / 1e3 / OPS)
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
}

const host = nacl.box.keyPair()
const hostKey = x25519PrivateKey(host.secretKey)
const peers = Array.from({ length: 64 }, () => nacl.box.keyPair().publicKey)
let p = 0
const dh = compare({
  'tweetnacl box.before': () => void nacl.box.before(peers[p++ & 63]!, host.secretKey),
  'native X25519 + HSalsa20': () => void boxBefore(peers[p++ & 63]!, hostKey),
})
const signer = nacl.sign.keyPair()
const msg = new TextEncoder().encode('session-init-v1|session-123|' + 'A'.repeat(44) + '|1763700000000')
const sig = nacl.sign.detached(msg, signer.secretKey)
const verify = compare({
  'tweetnacl sign.detached.verify': () => void nacl.sign.detached.verify(msg, sig, signer.publicKey),
  'native Ed25519 verify': () => void verifyDetached(msg, sig, signer.publicKey),
})

// End to end: inits per second through a host in another process.
const hp = await startHostProcess({ MAX_SESSIONS: '100000' })
const CLIENTS = 20
const INITS_PER_CLIENT = 100
const clients = await Promise.all(Array.from({ length: CLIENTS }, () => SessionClient.connect(hp.url, { hostPublicKey: hp.publicKey })))
await hp.reset()
const latencies: number[] = []
const t0 = performance.now()
await Promise.all(
  clients.map(async (c, ci) => {
    for (let i = 0; i < INITS_PER_CLIENT; i++) {
      const s = performance.now()
      await c.openSession(`hs-${ci}-${i % 10}`)
      latencies.push((performance.now() - s) * 1000)
    }
  }),
)
const seconds = (performance.now() - t0) / 1000
const stats = await hp.stats()
await Promise.all(clients.map((c) => c.close()))
await hp.stop()
latencies.sort((a, b) => a - b)
const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!

const fmt = (n: number): string => n.toFixed(1)
const lines = [
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  '',
  '| Step of one init (host side) | µs / call (median of rounds) | ratio |',
  '| --- | ---: | ---: |',
  `| tweetnacl box.before | ${fmt(dh['tweetnacl box.before']!)} | 1× |`,
  `| native X25519 + HSalsa20 (ours) | ${fmt(dh['native X25519 + HSalsa20']!)} | ${fmt(dh['tweetnacl box.before']! / dh['native X25519 + HSalsa20']!)}× faster |`,
  `| tweetnacl Ed25519 verify | ${fmt(verify['tweetnacl sign.detached.verify']!)} | 1× |`,
  `| native Ed25519 verify (ours) | ${fmt(verify['native Ed25519 verify']!)} | ${fmt(verify['tweetnacl sign.detached.verify']! / verify['native Ed25519 verify']!)}× faster |`,
  '',
  `| End to end (${CLIENTS} SDK clients, ${CLIENTS * INITS_PER_CLIENT} inits, host in its own process) | value |`,
  '| --- | ---: |',
  `| inits / s | ${Math.round((CLIENTS * INITS_PER_CLIENT) / seconds)} |`,
  `| init round trip p50 / p99 (µs, client side, includes client crypto) | ${Math.round(pct(0.5))} / ${Math.round(pct(0.99))} |`,
  `| host event-loop delay p99 / max (ms) | ${stats.eventLoop.p99} / ${stats.eventLoop.max} |`,
]
process.stdout.write(lines.join('\n') + '\n')
