// npm run bench:flood: the host's memory under two floods, with the byte
// limits effectively off (MAX_INFLIGHT_BYTES and MAX_OUTBOUND_BYTES huge) and
// on at their defaults, each against a fresh host in its own process.
//
//   inbound:  200 clients each send one 15 MiB frame at once (a JSON frame of
//             an unknown type, so the host parses it and answers an error:
//             what is measured is holding the frames, not handling them).
//   outbound: one client stops reading and sends 150 getHistory requests
//             whose replies are ~9 MB each (210 messages of 32 000 chars);
//             it reads again once the host has carried out all of them, or
//             after --hold seconds (under SLOW_CLIENT_MS, 30 s) if it has not.
//
// Reports the host's peak RSS (VmHWM of /proc/<pid>/status: the process's
// high-water mark, so each run starts a new host), its RSS just before the
// flood, and the time until every frame was answered. Medians over --runs.
// Flags: --runs=3  --scenarios=inbound,outbound  --clients=200  --frame-mib=15  --requests=150  --hold=5
import WebSocket from 'ws'
import { buildSessionInit, generateIdentity, openInitAck, sealRequest } from '@rag-session-host/client'
import { startHostProcess, type HostProcess } from './host/spawn.js'
import { median } from './lib/stats.js'
import { procStatusBytes } from './lib/proc.js'

const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt
const RUNS = Number(arg('runs', '3'))
const SCENARIOS = arg('scenarios', 'inbound,outbound').split(',')
const CLIENTS = Number(arg('clients', '200'))
const FRAME_BYTES = Number(arg('frame-mib', '15')) * 2 ** 20
const REQUESTS = Number(arg('requests', '150'))
const HOLD_S = Number(arg('hold', '25'))
const HISTORY = 210
const MESSAGE_CHARS = 32_000

const HUGE = String(2 ** 45)
const MODES: Record<string, Record<string, string>> = {
  off: { MAX_INFLIGHT_BYTES: HUGE, MAX_OUTBOUND_BYTES: HUGE },
  on: {},
}
const BASE = { PERSIST: 'false', MAX_CONNECTIONS_PER_IP: '0', MAX_SESSIONS_PER_IP: '0', INIT_RATE_PER_IP: '0', MAX_HISTORY: String(HISTORY), HEARTBEAT_INTERVAL_MS: '600000' }

const MiB = (bytes: number): number => Math.round(bytes / 2 ** 20)

/** VmHWM (peak) and VmRSS (now) of `pid`, bytes. */
function memory(pid: number): { peak: number; rss: number } {
  const [peak, rss] = procStatusBytes(pid, 'VmHWM', 'VmRSS') as [number, number]
  return { peak, rss }
}

function open(url: string): Promise<WebSocket> {
  // A zero mask lets ws send the shared frame buffer as it is, without a masked copy per client.
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws', { generateMask: (mask: Buffer) => void mask.fill(0) })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

const nextMessage = (ws: WebSocket): Promise<Record<string, any>> => new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))))

interface Result {
  before: number
  peak: number
  ms: number
  answered: number
}

async function inbound(host: HostProcess, pid: number): Promise<Result> {
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => open(host.url)))
  const head = '{"type":"flood","id":"f1","pad":"'
  const frame = Buffer.alloc(FRAME_BYTES, 'x')
  frame.write(head)
  frame.write('"}', FRAME_BYTES - 2)
  const before = memory(pid).rss
  const t0 = performance.now()
  const replies = sockets.map((ws) => nextMessage(ws))
  for (const ws of sockets) ws.send(frame, { binary: false })
  const got = await Promise.all(replies)
  const answered = got.filter((r) => r.type === 'error' && r.id === 'f1').length
  if (answered < got.length) console.error('  unexpected reply:', JSON.stringify(got.find((r) => r.type !== 'error' || r.id !== 'f1')))
  const ms = performance.now() - t0
  const { peak } = memory(pid)
  await Promise.all(sockets.map((ws) => new Promise((r) => (ws.once('close', r), ws.close()))))
  return { before, peak, ms, answered }
}

async function outbound(host: HostProcess, pid: number): Promise<Result> {
  const ws = await open(host.url)
  const hostPublicKey = new Uint8Array(Buffer.from(host.publicKey, 'base64'))
  const init = buildSessionInit({ hostPublicKey, requestId: 'init', sessionId: 'flood', identity: generateIdentity() })
  ws.send(JSON.stringify(init.frame))
  openInitAck(await nextMessage(ws), init.sessionKey)
  let counter = 0n
  const seal = (type: string, fields: Record<string, unknown>, id: string): string =>
    JSON.stringify(sealRequest({ sessionId: 'flood', key: init.sessionKey, counter: ++counter, request: { ...fields, type, id } }))
  const content = 'x'.repeat(MESSAGE_CHARS)
  for (let i = 0; i < HISTORY; i++) {
    ws.send(seal('appendMessage', { role: 'user', content }, `a${i}`))
    await nextMessage(ws)
  }
  await host.reset()
  const before = memory(pid).rss
  let answered = 0
  let bytes = 0
  const all = new Promise<void>((resolve) =>
    ws
      .on('message', (data: Buffer) => {
        bytes += data.length
        if (++answered === REQUESTS) resolve()
      })
      .once('close', () => resolve()),
  )
  // Stop reading: what the host sends now piles up in its socket buffers (and, without the limit, in its memory).
  ws.pause()
  const t0 = performance.now()
  for (let i = 0; i < REQUESTS; i++) ws.send(seal('getHistory', {}, `h${i}`))
  // Without the limit the host carries out every request meanwhile; with it, it holds them.
  const holdUntil = performance.now() + HOLD_S * 1000
  while (performance.now() < holdUntil && (await host.stats()).sinceReset.requests < REQUESTS) await new Promise((r) => setTimeout(r, 200))
  const carriedOut = (await host.stats()).sinceReset.requests
  ws.resume()
  await all
  const ms = performance.now() - t0
  const { peak } = memory(pid)
  console.error(`  outbound: ${carriedOut} of ${REQUESTS} carried out while the client did not read`)
  console.error(`  outbound: ${answered} replies, ${MiB(bytes)} MiB (${MiB(bytes / answered)} MiB each)`)
  ws.close()
  return { before, peak, ms, answered }
}

const SCENARIO_FNS: Record<string, (host: HostProcess, pid: number) => Promise<Result>> = { inbound, outbound }

const rows: string[] = []
for (const scenario of SCENARIOS) {
  for (const [mode, env] of Object.entries(MODES)) {
    const results: Result[] = []
    for (let run = 0; run < RUNS; run++) {
      const host = await startHostProcess({ ...BASE, ...env })
      try {
        const r = await SCENARIO_FNS[scenario]!(host, host.pid)
        console.error(`${scenario} limits ${mode} run ${run + 1}: before ${MiB(r.before)} MiB, peak ${MiB(r.peak)} MiB, ${Math.round(r.ms)} ms, ${r.answered} answered`)
        results.push(r)
      } finally {
        await host.stop()
      }
    }
    const m = (f: (r: Result) => number): number => median(results.map(f))
    rows.push(
      `| ${scenario} | ${mode} | ${MiB(m((r) => r.before))} | ${MiB(m((r) => r.peak))} | ${(m((r) => r.ms) / 1000).toFixed(1)} | ${Math.min(...results.map((r) => r.answered))} | ${results.length} |`,
    )
  }
}
const what = `inbound: ${CLIENTS} clients × one ${MiB(FRAME_BYTES)} MiB frame; outbound: one client not reading (until all carried out, at most ${HOLD_S} s), ${REQUESTS} getHistory of ~9 MB`
console.log(`\n${what}\n`)
console.log('| Scenario | Limits | RSS before (MiB) | Peak RSS (MiB) | Until all answered (s) | Answered | Runs |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const row of rows) console.log(row)
