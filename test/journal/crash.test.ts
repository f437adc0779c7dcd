// The durability promise against the real host in a child process (src/main.ts,
// configured by its environment, as an operator runs it): several clients
// append messages and upload vectors concurrently, the host is killed (SIGKILL)
// or stopped (SIGTERM) at a moment chosen by an event (the Nth acknowledgement),
// and a restart on the same DATA_DIR and key must give back every acknowledged
// change: no loss, no duplicate, no half batch, the owner still the owner.
import t, { type Test } from 'tap'
import { DurableHome, type HostProcess, type LogLine } from '../helpers/host-process.js'
import { within } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

type Frame = Record<string, any>
type Identity = ReturnType<typeof generateIdentity>

const DIMS = 384
const SESSIONS = 4
const CLIENTS_PER_SESSION = 2
/** Requests each client keeps in flight: at the kill there is always work on its way. */
const DEPTH = 4
/** The kill comes with this many acknowledgements received (all clients together). */
const KILL_AFTER_ACKS = 160
const ROLES = ['user', 'assistant', 'system'] as const

interface VectorItem {
  id: string
  vector: number[]
  metadata: Record<string, unknown>
}

type Op = { kind: 'message'; rid: string; role: string; content: string } | { kind: 'upload'; rid: string; items: VectorItem[] }

interface Acked {
  op: Op
  reply: Frame
}

/** A unit vector of float32 values (stored exactly as sent), random enough that its nearest neighbour is itself. */
function randomVector(): number[] {
  const v: number[] = []
  let norm = 0
  for (let i = 0; i < DIMS; i++) {
    const x = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random())
    v.push(x)
    norm += x * x
  }
  return v.map((x) => Math.fround(x / Math.sqrt(norm)))
}

/** One connection driving load: `DEPTH` requests in flight, every reply recorded, until its socket closes. */
class LoadClient {
  readonly sent: Op[] = []
  readonly acked: Acked[] = []
  /** Replies with ok:false: none is expected (a retryable refusal would mean the change was not made). */
  readonly refused: Acked[] = []
  readonly notices: Frame[] = []
  readonly pending = new Map<string, Op>()
  readonly closed: Promise<{ code: number; reason: string }>
  #n = 0
  #stopped = false

  constructor(
    readonly name: string,
    readonly wire: Wire,
    private readonly onAck: () => void,
  ) {
    wire.ws.on('error', () => undefined) // a reset by a killed host: 'close' follows
    wire.ws.on('message', (data) => this.#frame(JSON.parse(data.toString()) as Frame))
    this.closed = wire.closed.then((c) => {
      this.#stopped = true
      return c
    })
  }

  start(): void {
    for (let i = 0; i < DEPTH; i++) this.#next()
  }

  #next(): void {
    if (this.#stopped || this.wire.ws.readyState !== this.wire.ws.OPEN) return
    const n = ++this.#n
    let op: Op
    if (n % 2 === 1) {
      const content = `${this.name} message ${n}: ünïcødé ✓ ${Math.random().toString(36).slice(2)}`
      op = { kind: 'message', rid: `${this.name}-m${n}`, role: ROLES[n % 3]!, content }
    } else {
      // Batches of 2 to 5 vectors: all or nothing after a crash.
      const items = Array.from({ length: 2 + (n % 4) }, (_, j) => ({
        id: `${this.name}-u${n}-v${j}`,
        vector: randomVector(),
        metadata: { client: this.name, op: n, j, tags: [`t${j % 3}`, 'load'], nested: { even: j % 2 === 0, note: 'çà—ß', score: n / 4 } },
      }))
      op = { kind: 'upload', rid: `${this.name}-u${n}`, items }
    }
    const frame =
      op.kind === 'message' ? this.wire.seal('appendMessage', { role: op.role, content: op.content }, op.rid) : this.wire.seal('uploadVectors', { vectors: op.items }, op.rid)
    this.pending.set(op.rid, op)
    this.sent.push(op)
    this.wire.send(frame)
  }

  #frame(raw: Frame): void {
    if (raw.id === null && raw.type === 'encrypted_message') {
      this.notices.push(this.wire.open(raw))
      return
    }
    const op = this.pending.get(raw.id)
    if (!op) return
    this.pending.delete(raw.id)
    const reply = this.wire.open(raw)
    if (reply.ok === true) {
      this.acked.push({ op, reply })
      this.onAck()
    } else this.refused.push({ op, reply })
    this.#next()
  }
}

interface SessionPlan {
  id: string
  owner: Identity
  clients: LoadClient[]
  /** The message appended in attempt 1, before the load. */
  prelude: { content: string; seq: number; attempt: number }
}

/** Four sessions of two connections each; attempt 2 in each (attempt 1 holds one message). */
async function openSessions(host: HostProcess, onAck: () => void): Promise<SessionPlan[]> {
  const plans: SessionPlan[] = []
  for (let s = 0; s < SESSIONS; s++) {
    const id = `crash-${s}`
    const owner = generateIdentity()
    const clients: LoadClient[] = []
    const first = await Wire.open(host.wsUrl, host.hostPublicKey)
    await first.init({ sessionId: id, identity: owner })
    const content = `${id} prelude`
    const r = await first.request('appendMessage', { role: 'system', content })
    if (r.ok !== true) throw new Error(`prelude refused: ${JSON.stringify(r)}`)
    const again = await first.init({ sessionId: id, identity: owner, newAttempt: true })
    if (again.info?.attempt !== 2) throw new Error('new attempt not started')
    clients.push(new LoadClient(`${id}.a`, first, onAck))
    for (let c = 1; c < CLIENTS_PER_SESSION; c++) {
      const w = await Wire.open(host.wsUrl, host.hostPublicKey)
      const { info } = await w.init({ sessionId: id, identity: owner })
      if (info?.created !== false) throw new Error('second connection did not join the session')
      clients.push(new LoadClient(`${id}.${String.fromCharCode(97 + c)}`, w, onAck))
    }
    plans.push({ id, owner, clients, prelude: { content, seq: r.seq, attempt: r.attempt } })
  }
  return plans
}

/** Sends all requests at once (replies come back in order), in slices so no reply waits long. */
async function requestAll(wire: Wire, requests: { type: string; fields: Record<string, unknown> }[]): Promise<Frame[]> {
  const out: Frame[] = []
  for (let i = 0; i < requests.length; i += 64) out.push(...(await Promise.all(requests.slice(i, i + 64).map((r) => wire.request(r.type, r.fields)))))
  return out
}

interface SessionFindings {
  messages: number
  vectors: number
  unackedPresent: number
}

/** Reads one session back from the restarted host and checks it against what the clients were told. */
async function verifySession(t: Test, host: HostProcess, plan: SessionPlan, exact: boolean): Promise<SessionFindings> {
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { ack, info } = await wire.init({ sessionId: plan.id, identity: plan.owner })
  t.equal(ack.ok, true, `${plan.id}: the owner's init succeeds`)
  t.match(info, { created: false, attempt: 2, status: 'active', dims: DIMS }, `${plan.id}: the session is found, in its second attempt`)

  const sent = plan.clients.flatMap((c) => c.sent)
  const acked = plan.clients.flatMap((c) => c.acked)
  const ackedIds = new Set(acked.map((a) => a.op.rid))
  t.same(
    plan.clients.flatMap((c) => c.refused),
    [],
    `${plan.id}: no request was refused during the load`,
  )

  // History: every acknowledged message where its reply put it; nothing twice; nothing never sent.
  const history = await wire.request('getHistory', { attempt: 'all' })
  const messages = history.messages as Frame[]
  t.same(
    messages.map((m) => m.seq),
    messages.map((_, i) => i + 1),
    `${plan.id}: seq runs 1..${messages.length} without a gap (a later change never outlives an earlier one)`,
  )
  const byContent = new Map<string, Frame[]>()
  for (const m of messages) byContent.set(m.content, [...(byContent.get(m.content) ?? []), m])
  t.same(
    [...byContent].filter(([, list]) => list.length > 1).map(([c]) => c),
    [],
    `${plan.id}: no message is stored twice`,
  )
  const sentMessages = new Map<string, Extract<Op, { kind: 'message' }>>()
  for (const op of sent) if (op.kind === 'message') sentMessages.set(op.content, op)
  t.same(
    messages.filter((m) => m.content !== plan.prelude.content && !sentMessages.has(m.content)).map((m) => m.seq),
    [],
    `${plan.id}: every stored message is one a client sent`,
  )
  const expected = [
    { content: plan.prelude.content, role: 'system', seq: plan.prelude.seq, attempt: plan.prelude.attempt },
    ...acked.flatMap((a) => (a.op.kind === 'message' ? [{ content: a.op.content, role: a.op.role, seq: a.reply.seq, attempt: a.reply.attempt }] : [])),
  ]
  const lost = expected.filter((e) => {
    const m = byContent.get(e.content)?.[0]
    return !m || m.seq !== e.seq || m.attempt !== e.attempt || m.role !== e.role || typeof m.ts !== 'number'
  })
  t.same(lost, [], `${plan.id}: all ${expected.length} acknowledged messages are there, with their seq, attempt, role and content`)
  const unackedMessages = messages.filter((m) => m.content !== plan.prelude.content && !ackedIds.has(sentMessages.get(m.content)!.rid)).length

  // Vectors: each sent one looked up by its exact values; a batch is there whole or not at all.
  const uploads = sent.filter((op): op is Extract<Op, { kind: 'upload' }> => op.kind === 'upload')
  const items = uploads.flatMap((u) => u.items.map((item) => ({ u, item })))
  const hits = await requestAll(
    wire,
    items.map(({ item }) => ({ type: 'searchVectors', fields: { vector: item.vector, k: 1 } })),
  )
  const present = new Set<string>()
  const wrong: unknown[] = []
  hits.forEach((r, i) => {
    const { item } = items[i]!
    if (r.ok !== true || r.exact !== true) return void wrong.push({ id: item.id, reply: r })
    const top = r.results[0]
    if (top?.id !== item.id) return
    present.add(item.id)
    if (!(top.score > 0.9999) || JSON.stringify(top.metadata) !== JSON.stringify(item.metadata)) wrong.push({ id: item.id, score: top.score, metadata: top.metadata })
  })
  t.same(wrong, [], `${plan.id}: every stored vector is found by its own values, with its metadata`)
  const half = uploads.filter((u) => {
    const n = u.items.filter((item) => present.has(item.id)).length
    return n !== 0 && n !== u.items.length
  })
  t.same(
    half.map((u) => u.rid),
    [],
    `${plan.id}: no upload batch is there in part`,
  )
  const lostBatches = uploads.filter((u) => ackedIds.has(u.rid) && u.items.some((item) => !present.has(item.id)))
  t.same(
    lostBatches.map((u) => u.rid),
    [],
    `${plan.id}: every acknowledged batch is there (${uploads.filter((u) => ackedIds.has(u.rid)).length} batches)`,
  )
  const unackedBatches = uploads.filter((u) => !ackedIds.has(u.rid) && present.has(u.items[0]!.id)).length

  const sessionInfo = await wire.request('sessionInfo')
  t.equal(sessionInfo.vectors, present.size, `${plan.id}: the session holds exactly the vectors found, nothing else`)
  t.equal(sessionInfo.history_total, messages.length, `${plan.id}: history_total agrees`)
  if (exact) {
    t.equal(unackedMessages + unackedBatches, 0, `${plan.id}: nothing left unanswered was carried out (frames not read at shutdown are not executed)`)
  }

  // The host goes on from there: the next message gets the next seq.
  const next = await wire.request('appendMessage', { role: 'user', content: 'after the restart' })
  t.match(next, { ok: true, seq: messages.length + 1, attempt: 2 }, `${plan.id}: seq goes on after the restart`)

  // Another identity is refused, as before the restart (PROTOCOL.md §2.2 check 6).
  const thief = await Wire.open(host.wsUrl, host.hostPublicKey)
  const stolen = await thief.init({ sessionId: plan.id, identity: generateIdentity() })
  t.match(stolen.ack, { type: 'session_init_ack', ok: false, error: { code: 'forbidden', retryable: false } }, `${plan.id}: another identity is still refused`)
  await Promise.all([wire.close(), thief.close()])
  return { messages: messages.length, vectors: present.size, unackedPresent: unackedMessages + unackedBatches }
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  t.test(`${signal} under load: every acknowledged change survives the restart`, async (t) => {
    const home = new DurableHome(t)
    const host = await home.start({ env: { JOURNAL_FSYNC: 'always' } })
    let acks = 0
    let inFlightAtKill = -1
    const kill = (): void => {
      if (++acks !== KILL_AFTER_ACKS) return
      inFlightAtKill = plans.reduce((n, p) => n + p.clients.reduce((m, c) => m + c.pending.size, 0), 0)
      host.kill(signal)
    }
    const plans = await openSessions(host, kill)
    const clients = plans.flatMap((p) => p.clients)
    for (const c of clients) c.start()

    const closes = await within(Promise.all(clients.map((c) => c.closed)), 30_000, 'every client connection closes')
    const exit = await within(host.exited, 30_000, 'the host exits')
    t.ok(inFlightAtKill > 0, `the ${signal} came mid-load (${inFlightAtKill} requests in flight, ${acks} acknowledged in all)`)
    const sent = clients.reduce((n, c) => n + c.sent.length, 0)
    const acked = clients.reduce((n, c) => n + c.acked.length, 0)
    t.ok(sent > acked, `some requests were never answered (${sent} sent, ${acked} acknowledged)`)

    if (signal === 'SIGKILL') {
      t.same(exit, { code: null, signal: 'SIGKILL' }, 'the host died of SIGKILL')
      t.equal(host.events('host.signal').length, 0, 'it had no chance to shut down')
    } else {
      t.same(exit, { code: 0, signal: null }, 'the host exited 0')
      t.match(host.events('host.signal'), [{ signal: 'SIGTERM' }])
      t.same(
        closes.map((c) => c.code),
        clients.map(() => 1001),
        'every connection was closed with 1001',
      )
      t.same(
        clients.map((c) => c.notices.map((n) => n.status)),
        clients.map(() => ['shutting_down']),
        'every bound connection was told shutting_down first',
      )
      t.ok(host.indexOf('journal.snapshot') > host.indexOf('host.stopping'), 'a snapshot was written at the close')
      t.ok(host.indexOf('host.stopped') > host.indexOf('journal.snapshot'), 'then host.stopped')
    }
    const snapshot = host.events('journal.snapshot').at(-1)

    const restarted = await home.start({ env: { JOURNAL_FSYNC: 'always' } })
    const recovered = restarted.events('journal.recovered')[0] as LogLine
    t.ok(recovered, 'the restart logs journal.recovered')
    let messages = 0
    let vectors = 0
    let unacked = 0
    for (const plan of plans) {
      const found = await verifySession(t, restarted, plan, signal === 'SIGTERM')
      messages += found.messages
      vectors += found.vectors
      unacked += found.unackedPresent
    }
    t.comment(`${acked} acknowledged, ${sent - acked} not; ${unacked} of those were carried out anyway; ${messages} messages and ${vectors} vectors recovered`)
    t.match(recovered, { sessions: SESSIONS, damaged: false }, 'journal.recovered: sessions, no damage')
    t.equal(recovered.messages, messages, 'journal.recovered reports the number of messages')
    t.equal(recovered.vectors, vectors, 'journal.recovered reports the number of vectors')
    if (signal === 'SIGKILL') {
      t.equal(snapshot, undefined, 'no snapshot was written before the kill')
      t.equal(recovered.snapshot, null, 'recovered from the journal segments alone')
      t.ok((recovered.segments as number) >= 1, 'from at least one segment')
    } else {
      t.type(snapshot?.snapshot, 'number', 'journal.snapshot names its snapshot')
      t.equal(recovered.snapshot, snapshot?.snapshot, 'recovered from the snapshot the shutdown wrote')
    }
  })
}
