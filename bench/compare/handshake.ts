// Part 3 of bench:compare: session inits per second through our host (SDK
// openSession re-inits: fresh ephemeral key and session key each time, from C
// concurrent clients) against nacl-host.ts (the same init answered with
// tweetnacl alone), from the same number of clients sending the same frames
// (the SDK's buildSessionInit). Blocks alternate between the two.
import WebSocket from 'ws'
import { SessionClient, buildSessionInit, generateIdentity, openInitAck } from '@rag-session-host/client'
import { median, percentile } from '../lib/stats.js'
import { startHostProcess } from '../host/spawn.js'
import { forkServer } from './child.js'
import { f1, int, ratio, table } from './format.js'

export interface HandshakeOptions {
  clients: number
  blockSeconds: number
  blocks: number
}

const AIM = 8

interface Driver {
  /** Runs one init; resolves when its ack is opened. */
  init(): Promise<void>
  close(): Promise<void> | void
}

async function sdkDriver(url: string, publicKey: string, i: number): Promise<Driver> {
  const c = await SessionClient.connect(url, { hostPublicKey: publicKey, requestTimeoutMs: 60_000 })
  const id = `hs-${i}`
  await c.openSession(id)
  return { init: async () => void (await c.openSession(id)), close: () => c.close() }
}

async function rawDriver(url: string, publicKey: string, i: number): Promise<Driver> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const identity = generateIdentity()
  const hostKey = Buffer.from(publicKey, 'base64')
  let waiting: ((text: string) => void) | undefined
  ws.on('message', (data: WebSocket.RawData) => waiting?.(data.toString()))
  let n = 0
  return {
    async init() {
      const built = buildSessionInit({ sessionId: `hs-${i}`, requestId: `r${n++}`, hostPublicKey: hostKey, identity })
      const reply = new Promise<string>((resolve) => (waiting = resolve))
      ws.send(JSON.stringify(built.frame))
      openInitAck(JSON.parse(await reply), built.sessionKey)
    },
    close: () => ws.close(),
  }
}

interface Block {
  perSec: number
  p50: number
  p99: number
  errors: number
}

async function block(drivers: Driver[], seconds: number): Promise<Block> {
  const lat: number[] = []
  let errors = 0
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  await Promise.all(
    drivers.map(async (d) => {
      while (performance.now() < end) {
        const s = performance.now()
        try {
          await d.init()
          lat.push((performance.now() - s) * 1000)
        } catch {
          errors++
        }
      }
    }),
  )
  const elapsed = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  return { perSec: lat.length / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99), errors }
}

export async function runHandshake(o: HandshakeOptions): Promise<string> {
  const host = await startHostProcess({ INIT_RATE_PER_IP: '0', MAX_SESSIONS: '100000', MAX_SESSIONS_PER_IP: '0' })
  const nacl = await forkServer('./nacl-host.ts')
  const ours: Driver[] = []
  const theirs: Driver[] = []
  try {
    for (let i = 0; i < o.clients; i++) ours.push(await sdkDriver(host.url, host.publicKey, i))
    for (let i = 0; i < o.clients; i++) theirs.push(await rawDriver(nacl.url, nacl.publicKey!, i))
    // warm-up (JIT on every side)
    await block(ours, 1)
    await block(theirs, 1)
    const a: Block[] = []
    const b: Block[] = []
    const loops: number[] = []
    for (let r = 0; r < o.blocks; r++) {
      const runOurs = async (): Promise<void> => {
        await host.reset()
        a.push(await block(ours, o.blockSeconds))
        loops.push((await host.stats()).eventLoop.p99)
      }
      const runTheirs = async (): Promise<void> => void b.push(await block(theirs, o.blockSeconds))
      if (r % 2 === 0) {
        await runOurs()
        await runTheirs()
      } else {
        await runTheirs()
        await runOurs()
      }
    }
    const m = (xs: Block[], f: (x: Block) => number): number => median(xs.map(f))
    const r = median(a.map((x, i) => x.perSec / b[i]!.perSec))
    const errors = a.reduce((s, x) => s + x.errors, 0) + b.reduce((s, x) => s + x.errors, 0)
    return [
      `${o.clients} concurrent clients, one connection each, re-initialising one session each back to back (new ephemeral key and session key every init); ${o.blocks} alternating blocks of ${o.blockSeconds} s per side after 1 s of warm-up each; medians over blocks. Clients build their frames with the SDK's native crypto on both sides (ours: \`SessionClient.openSession\`; baseline: \`buildSessionInit\` + \`openInitAck\` on a bare \`ws\`). Both servers in their own processes; everything shares the machine's cores.`,
      '',
      table(['session init', 'inits/s', 'init round trip p50 / p99 ms', 'server event-loop p99 ms'], 'lrrr', [
        [
          'ours: host (native X25519 + Ed25519, the full init path: checks, replay cache, session, key install)',
          int(m(a, (x) => x.perSec)),
          `${f1(m(a, (x) => x.p50) / 1000)} / ${f1(m(a, (x) => x.p99) / 1000)}`,
          f1(median(loops)),
        ],
        [
          'baseline: tweetnacl only (box.open + sign.detached.verify + secretbox of the ack; no session state)',
          int(m(b, (x) => x.perSec)),
          `${f1(m(b, (x) => x.p50) / 1000)} / ${f1(m(b, (x) => x.p99) / 1000)}`,
          'n/a',
        ],
      ]),
      '',
      table(['ratio (median over block pairs)', 'value', `aim ≥ ${AIM}×`], 'lrl', [['ours / tweetnacl-only, inits/s', ratio(r), r >= AIM ? 'met' : '**not met**']]),
      '',
      `Per block inits/s, ours / baseline: ${a.map((x, i) => `${int(x.perSec)} / ${int(b[i]!.perSec)}`).join('; ')}. Failed inits: ${errors}.`,
    ].join('\n')
  } finally {
    await Promise.all([...ours, ...theirs].map((d) => d.close()))
    await nacl.stop()
    await host.stop()
  }
}
