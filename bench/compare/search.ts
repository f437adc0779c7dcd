// Parts 1 and 2 of bench:compare: our k=10 search round trip (SDK → host in
// its own process, HNSW index built) against the transport floor (a bare `ws`
// echo server in its own process, carrying the same bytes both ways) and the
// engine floor (echo + the same search on hnswlib-node in this process).
import WebSocket from 'ws'
import { setTimeout as sleep } from 'node:timers/promises'
import { SessionClient } from '@rag-session-host/client'
import { loadConfig } from '../../src/config.js'
import { clustered } from '../lib/data.js'
import { startHostProcess } from '../host/spawn.js'
import { alternate, medianOf, type Candidate } from './blocks.js'
import { forkServer } from './child.js'
import { buildEngine } from './engine.js'
import { measureFrameSizes } from './frame-sizes.js'
import { int, ratio, table } from './format.js'

const K = 10
const SESSION = 'compare-search'

export interface SearchOptions {
  vectors: number
  dim: number
  samples: number
  blocks: number
  engine: boolean
}

async function fillHost(url: string, publicKey: string, data: Float32Array, dims: number): Promise<SessionClient> {
  const client = await SessionClient.connect(url, { hostPublicKey: publicKey, requestTimeoutMs: 120_000 })
  await client.openSession(SESSION)
  const count = data.length / dims
  for (let i = 0; i < count; i += 1000) {
    const n = Math.min(1000, count - i)
    await client.uploadVectors(
      Array.from({ length: n }, (_, j) => ({ id: `v${i + j}`, vector: data.subarray((i + j) * dims, (i + j + 1) * dims), metadata: { i: i + j, source: `doc-${(i + j) % 97}` } })),
    )
  }
  return client
}

function echoClient(url: string, payload: string): Promise<{ roundTrip(): Promise<void>; close(): void }> {
  const ws = new WebSocket(url)
  let waiting: (() => void) | undefined
  ws.on('message', () => waiting?.())
  return new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () =>
      resolve({
        roundTrip: () =>
          new Promise<void>((done) => {
            waiting = done
            ws.send(payload)
          }),
        close: () => ws.close(),
      }),
    )
  })
}

export async function runSearch(o: SearchOptions): Promise<string> {
  const config = loadConfig(process.env, { port: 0 })
  const params = { m: config.hnswM, efConstruction: config.hnswEfConstruction, efSearch: config.hnswEfSearch }
  const data = clustered({ count: o.vectors, dims: o.dim, seed: 2024 })
  const queries = Array.from({ length: 512 }, () => data.query())
  const host = await startHostProcess({ PERSIST: 'false' })
  const lines: string[] = []
  try {
    const client = await fillHost(host.url, host.publicKey, data.data, o.dim)
    // The in-process graph is built (blocking this thread) while the host's worker builds its own.
    const t0 = performance.now()
    const engine = o.engine ? buildEngine(data.data, o.dim, params) : undefined
    for (;;) {
      const st = await host.stats()
      if (st.vectors.hnswIndexes >= 1 && st.vectors.building === 0) break
      await sleep(250)
    }
    const readyS = (performance.now() - t0) / 1000
    const sizes = await measureFrameSizes(host.url, host.publicKey, client.identity, SESSION, queries[0]!, K)
    const echo = await forkServer('./echo-server.ts', { REPLY_BYTES: String(sizes.replyChars) })
    const echoC = await echoClient(echo.url, 'x'.repeat(sizes.requestChars))
    const pingEcho = await forkServer('./echo-server.ts', { REPLY_BYTES: String(sizes.pingReplyChars) })
    const pingEchoC = await echoClient(pingEcho.url, 'x'.repeat(sizes.pingRequestChars))
    try {
      // Do host and engine agree? (same graph parameters and seed: they should, nearly always)
      let agree = 0
      if (engine) {
        for (let i = 0; i < 50; i++) {
          const ours = (await client.searchVectors(queries[i]!, { k: K })).results.map((r) => r.id)
          const theirs = new Set(engine.search(queries[i]!, K).map((l) => `v${l}`))
          agree += ours.filter((id) => theirs.has(id)).length / K
        }
      }
      let q = 0
      const cands: Record<string, Candidate> = {
        ours: () => client.searchVectors(queries[q++ % queries.length]!, { k: K }),
        echo: () => echoC.roundTrip(),
        ping: () => client.ping(),
        pingEcho: () => pingEchoC.roundTrip(),
      }
      if (engine) cands.engine = () => engine.search(queries[q++ % queries.length]!, K)
      const perBlock = Math.max(100, Math.round(o.samples / o.blocks))
      const s = await alternate(cands, o.blocks, perBlock, 200)
      const B = o.blocks
      const at = (name: string, p: 'p50' | 'p99'): number => medianOf(B, (b) => s[name]![p][b]!)
      const floor = (p: 'p50' | 'p99', b: number): number => s.echo![p][b]! + (s.engine?.[p][b] ?? Number.NaN)
      lines.push(
        `Session: ${int(o.vectors)} clustered ${o.dim}-dim vectors (seed 2024, metadata \`{i, source}\`), HNSW M ${params.m}, efConstruction ${params.efConstruction}, efSearch ${params.efSearch}; host index ready ${readyS.toFixed(1)} s after the last upload (polled once the in-process build was done)${engine ? `, in-process build ${(engine.buildMs / 1000).toFixed(1)} s` : ''}. k=${K} searches, ${B} alternating blocks × ${perBlock} sequential round trips per candidate (after 200 warm-up each); p50/p99 per block, median over blocks.`,
        `Frames on the wire (measured): search request ${int(sizes.requestChars)} chars (sealed, \`vector_b64\`), reply ${int(sizes.replyChars)} chars (sealed, ${K} results); the echo server sends and receives text frames of exactly these sizes.${engine ? ` Host and in-process results agree on ${(agree / 50).toFixed(3)} of the top-${K} ids (50 queries).` : ''}`,
        '',
        table(['search round trip', 'p50 µs', 'p99 µs'], 'lrr', [
          ['ours: SDK → host (own process) → HNSW worker → SDK, sealed both ways', int(at('ours', 'p50')), int(at('ours', 'p99'))],
          ['transport floor: bare `ws` echo server (own process), same bytes', int(at('echo', 'p50')), int(at('echo', 'p99'))],
          ...(engine
            ? [
                ['engine floor: hnswlib-node in process, same vectors, parameters, queries', int(at('engine', 'p50')), int(at('engine', 'p99'))],
                ['echo + engine (per block)', int(medianOf(B, (b) => floor('p50', b))), int(medianOf(B, (b) => floor('p99', b)))],
              ]
            : []),
        ]),
        '',
        table(['ours over the floor (median over blocks of the per-block ratio)', 'p50', 'p99', 'ours minus floor, p50 µs'], 'lrrr', [
          [
            'ours / echo (transport floor)',
            ratio(medianOf(B, (b) => s.ours!.p50[b]! / s.echo!.p50[b]!)),
            ratio(medianOf(B, (b) => s.ours!.p99[b]! / s.echo!.p99[b]!)),
            int(medianOf(B, (b) => s.ours!.p50[b]! - s.echo!.p50[b]!)),
          ],
          ...(engine
            ? [
                [
                  'ours / (echo + engine) (engine floor)',
                  ratio(medianOf(B, (b) => s.ours!.p50[b]! / floor('p50', b))),
                  ratio(medianOf(B, (b) => s.ours!.p99[b]! / floor('p99', b))),
                  int(medianOf(B, (b) => s.ours!.p50[b]! - floor('p50', b))),
                ],
              ]
            : []),
        ]),
        '',
        '',
        `An empty operation: ping, sealed both ways (request ${int(sizes.pingRequestChars)} chars, reply ${int(sizes.pingReplyChars)}), against a bare \`ws\` echo of the same sizes, in the same blocks.`,
        '',
        table(['ping round trip', 'p50 µs', 'p99 µs'], 'lrr', [
          ['ours: SDK → host → SDK, sealed both ways', int(at('ping', 'p50')), int(at('ping', 'p99'))],
          ['bare `ws` echo, same bytes', int(at('pingEcho', 'p50')), int(at('pingEcho', 'p99'))],
          ['ours minus echo (median over blocks)', int(medianOf(B, (b) => s.ping!.p50[b]! - s.pingEcho!.p50[b]!)), int(medianOf(B, (b) => s.ping!.p99[b]! - s.pingEcho!.p99[b]!))],
        ]),
        '',
        `Per-block p50 µs, ours / echo${engine ? ' / engine' : ''}: ${Array.from({ length: B }, (_, b) => [s.ours!, s.echo!, ...(s.engine ? [s.engine] : [])].map((x) => int(x.p50[b]!)).join(' / ')).join('; ')}`,
      )
    } finally {
      echoC.close()
      pingEchoC.close()
      await Promise.all([echo.stop(), pingEcho.stop()])
      await client.close()
    }
  } finally {
    await host.stop()
  }
  return lines.join('\n')
}
