// What one bench:load client does, as an SDK user would: connect (host key
// pinned), init, upload its vectors in batches, then rounds of searches (half
// of them filtered), appendMessage and getHistory, sometimes a dropped socket
// and a reconnect (--churn), and at the end endSession.
import { setTimeout as sleep } from 'node:timers/promises'
import { HostError, SessionClient, generateIdentity, isHostError, type Identity } from '@rag-session-host/client'
import { clustered } from '../lib/data.js'
import { rng } from '../lib/rng.js'
import type { LoadOptions } from './args.js'
import type { Pacer } from './pacer.js'
import type { Operation, Recorder } from './stats.js'

export interface ClientJob {
  index: number
  url: string
  hostPublicKey: string
  /** Session ids are `${sessionPrefix}${index}`. */
  sessionPrefix: string
  opts: LoadOptions
  /** performance.now() after which no new round starts (duration mode). */
  deadline: number | undefined
  recorder: Recorder
  pacer: Pacer
}

const MESSAGE = 'A message of ordinary length: a question or an answer, a sentence or two, as a chat client would store it in its history.'
const GROUPS = 4
const QUERIES = 16

/** The error's code as the SDK gives it; anything that is not a HostError is `exception`. */
export function errorCode(err: unknown): string {
  return isHostError(err) ? err.code : 'exception'
}

export async function runClient(job: ClientJob): Promise<void> {
  const { opts, recorder, pacer } = job
  const sessionId = `${job.sessionPrefix}${job.index}`
  const identity: Identity = generateIdentity()
  const draw = rng(opts.seed + 7919 * (job.index + 1))
  const data = clustered({ count: opts.vectors, dims: opts.dim, seed: opts.seed + job.index })
  const queries = Array.from({ length: QUERIES }, () => data.query())
  let client: SessionClient | undefined
  let dead = false

  /** One timed request; undefined when it failed (recorded). */
  async function timed<T>(op: Operation, fn: () => Promise<T>, paced = true): Promise<T | undefined> {
    if (paced) await pacer.take()
    const t0 = performance.now()
    try {
      const r = await fn()
      recorder.ok(op, performance.now() - t0)
      return r
    } catch (err) {
      recorder.fail(op, errorCode(err))
      // A client closed for good (or a bug) fails everything at once from here: stop it instead of spinning.
      if (!isHostError(err) || (err.code === 'disconnected' && !err.retryable)) dead = true
      return undefined
    }
  }

  // The routing hint, as a real client sends it: behind a balancer (bench:cluster) the first connection lands on the session's host.
  const connect = (): Promise<SessionClient> =>
    SessionClient.connect(job.url, { hostPublicKey: job.hostPublicKey, identity, requestTimeoutMs: opts.timeoutMs, routeHint: sessionId })
  const init = async (): Promise<boolean> => (await timed('init', () => client!.openSession(sessionId))) !== undefined
  /** --reinit: a new session key before every operation. */
  const op = async <T>(name: Operation, fn: () => Promise<T>): Promise<T | undefined> => {
    if (opts.reinit && !(await init())) return undefined
    return timed(name, fn)
  }

  try {
    client = await timed('connect', connect, false)
    if (!client || !(await init())) return

    for (let i = 0; i < opts.vectors && !dead; i += opts.batch) {
      const items = Array.from({ length: Math.min(opts.batch, opts.vectors - i) }, (_, k) => ({
        id: `v${i + k}`,
        vector: data.data.subarray((i + k) * opts.dim, (i + k + 1) * opts.dim),
        metadata: { i: i + k, group: (i + k) % GROUPS },
      }))
      await op('uploadVectors', async () => {
        const r = await client!.uploadVectors(items)
        const first = r.rejected[0]
        if (first) throw new HostError(first.code, `upload rejected ${r.rejected.length} vectors: ${first.message}`)
        return r
      })
    }

    let searches = 0
    for (let round = 0; !dead && (job.deadline === undefined ? round < opts.rounds! : performance.now() < job.deadline); round++) {
      if (opts.churn > 0 && draw() < opts.churn) {
        const old = client
        const again = await timed('reconnect', async () => {
          await old.close()
          const c = await connect()
          try {
            await c.openSession(sessionId)
          } catch (err) {
            await c.close()
            throw err
          }
          return c
        })
        if (!again) return
        client = again
      }
      for (let s = 0; s < opts.searches && !dead; s++, searches++) {
        const q = queries[searches % QUERIES]!
        if (searches % 2 === 0) await op('searchVectors', () => client!.searchVectors(q, { k: 10 }))
        else await op('searchVectors+filter', () => client!.searchVectors(q, { k: 10, filter: { group: searches % GROUPS } }))
      }
      if (!dead) await op('appendMessage', () => client!.appendMessage(round % 2 === 0 ? 'user' : 'assistant', MESSAGE))
      if (!dead) await op('getHistory', () => client!.getHistory({ limit: 20 }))
      if (opts.thinkMs > 0) await sleep(opts.thinkMs)
    }
    if (!dead) await timed('endSession', () => client!.endSession())
  } finally {
    await client?.close()
  }
}
