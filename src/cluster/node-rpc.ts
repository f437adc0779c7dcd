// Requests between hosts, over Redis pub/sub: each host listens on its own
// channel (rsh:node:<id>) and answers on the asker's. A request to a host that
// is not subscribed fails at once (PUBLISH reached nobody), one that is not
// answered in time fails with its timeout: a caller never waits on a dead host.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { RedisLink } from './redis-link.js'
import { nodeChannel } from './scripts.js'

type Message =
  | { kind: 'request'; id: string; from: string; op: string; body: unknown }
  | { kind: 'reply'; id: string; ok: true; body: unknown }
  | { kind: 'reply'; id: string; ok: false; error: string }

export type Handler = (body: unknown, from: string) => Promise<unknown>

export class NodeUnreachable extends Error {}

export class NodeRpc {
  readonly #link: RedisLink
  readonly #nodeId: string
  readonly #log: Logger
  readonly #handlers = new Map<string, Handler>()
  readonly #pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>()

  constructor(link: RedisLink, nodeId: string, log: Logger) {
    this.#link = link
    this.#nodeId = nodeId
    this.#log = log
  }

  handle(op: string, handler: Handler): void {
    this.#handlers.set(op, handler)
  }

  async start(): Promise<void> {
    await this.#link.subscribe(nodeChannel(this.#nodeId), (text) => this.#receive(text))
  }

  async request(node: string, op: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const id = randomUUID()
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new NodeUnreachable(`host ${node} did not answer ${op} within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve, reject, timer })
    })
    const msg: Message = { kind: 'request', id, from: this.#nodeId, op, body }
    let receivers: number
    try {
      receivers = await this.#link.publish(nodeChannel(node), JSON.stringify(msg))
    } catch (err) {
      this.#settle(id)?.reject(err as Error)
      return answer
    }
    if (receivers === 0) this.#settle(id)?.reject(new NodeUnreachable(`host ${node} is not listening`))
    return answer
  }

  #settle(id: string): { resolve(v: unknown): void; reject(e: Error): void } | undefined {
    const p = this.#pending.get(id)
    if (!p) return undefined
    this.#pending.delete(id)
    clearTimeout(p.timer)
    return p
  }

  #receive(text: string): void {
    let msg: Message
    try {
      msg = JSON.parse(text) as Message
    } catch {
      return
    }
    if (msg.kind === 'reply') {
      const p = this.#settle(msg.id)
      if (!p) return // answered too late: the asker has moved on
      if (msg.ok) p.resolve(msg.body)
      else p.reject(new Error(msg.error))
      return
    }
    const handler = this.#handlers.get(msg.op)
    const reply = (m: Message): void => {
      this.#link.publish(nodeChannel(msg.from), JSON.stringify(m)).catch(() => undefined)
    }
    if (!handler) return reply({ kind: 'reply', id: msg.id, ok: false, error: `unknown request ${msg.op}` })
    handler(msg.body, msg.from).then(
      (body) => reply({ kind: 'reply', id: msg.id, ok: true, body: body ?? null }),
      (err: unknown) => {
        this.#log.warn({ event: 'cluster.request_failed', op: msg.op, from: msg.from, err: (err as Error)?.message }, 'a request from another host failed')
        reply({ kind: 'reply', id: msg.id, ok: false, error: (err as Error)?.message ?? 'failed' })
      },
    )
  }
}
