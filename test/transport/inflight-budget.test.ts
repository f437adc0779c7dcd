// The host-wide budget of inbound bytes in flight (MAX_INFLIGHT_BYTES): past
// it the host stops reading from every socket until answered frames bring it
// back under; partial frames count too. With nothing queued anywhere, one
// connection is let through to complete its frame, so nothing deadlocks, and
// one that then stalls is closed (1013) after SLOW_CLIENT_MS. Every frame is
// answered in turn, and accounted bytes never pass the budget plus one frame.
import type { Socket } from 'node:net'
import t from 'tap'
import { MAX_FRAME_HEADER_BYTES } from '../../src/transport/inbound-budget.js'
import { startHost, type TestHost } from '../helpers/host.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const MiB = 1024 * 1024
const LIMITS = { maxFrameBytes: 1 * MiB, maxInflightBytes: 2 * MiB, maxMessageChars: 800_000 }
/** Content that seals into a frame of about 0.94 MiB, near MAX_FRAME_BYTES. */
const bigContent = (i: number): string => `${i} `.padEnd(740_000, 'x')

function bound(host: TestHost): number {
  return host.config.maxInflightBytes + host.config.maxFrameBytes + MAX_FRAME_HEADER_BYTES
}

async function wires(host: TestHost, n: number, prefix: string): Promise<Wire[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
      await wire.init({ sessionId: `${prefix}-${i}`, identity: generateIdentity() })
      return wire
    }),
  )
}

/** A masked client text frame (mask key zero, so the payload reads as is), for writing a frame in pieces. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(14)
  header[0] = 0x81
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(payload.length), 2)
  return Buffer.concat([header, payload])
}

/** The TCP socket under a client ws (its internals: the test writes frames by hand). */
const tcp = (wire: Wire): Socket => (wire.ws as unknown as { _socket: Socket })._socket

function sentInPieces(wire: Wire, frame: Record<string, unknown>, first: number): { rest: () => void } {
  const bytes = clientFrame(JSON.stringify(frame))
  tcp(wire).write(bytes.subarray(0, first))
  return { rest: () => void tcp(wire).write(bytes.subarray(first)) }
}

t.test('many clients sending near-max frames at once: all answered in order, in-flight bytes within budget + one frame', async (t) => {
  const host = await startHost(t, { ...LIMITS, connectionQueueMax: 2 })
  const clients = await wires(host, 10, 'flood')
  const perClient = 3
  const sent = clients.map((wire) => Array.from({ length: perClient }, (_, i) => wire.seal('appendMessage', { role: 'user', content: bigContent(i) })))
  t.ok(
    sent.flat().every((f) => JSON.stringify(f).length > 0.9 * MiB && JSON.stringify(f).length < MiB),
    'every frame is near MAX_FRAME_BYTES',
  )
  host.server.ctx.inbound.resetPeak()
  clients.forEach((wire, c) => sent[c]!.forEach((f) => wire.send(f)))
  const replies = await Promise.all(clients.map((wire, c) => Promise.all(sent[c]!.map(async (f) => wire.open(await wire.reply(f.id, 60_000))))))

  for (const [c, rs] of replies.entries()) {
    t.same(
      rs.map((r) => [r.type, r.ok, r.seq]),
      Array.from({ length: perClient }, (_, i) => ['appendMessageResponse', true, i + 1]),
      `client ${c}: every frame answered, carried out in order`,
    )
    t.equal(clients[c]!.frames.length, 0, `client ${c}: no other frame`)
    t.equal(host.server.ctx.sessions.get(`flood-${c}`)?.history.total, perClient, `client ${c}: every message stored`)
  }
  const budget = host.server.ctx.inbound
  t.ok(host.log.events('inbound.paused').length >= 1, 'reading was paused host-wide')
  t.ok(budget.peak > budget.pauseAt, `the budget was reached (peak ${budget.peak})`)
  t.ok(budget.peak <= bound(host), `in-flight bytes never passed the budget plus one frame (peak ${budget.peak}, bound ${bound(host)})`)
  await waitUntil(() => budget.current === 0, { what: 'every byte released' })
  t.notOk(budget.paused, 'reading again at the end')
  t.equal(host.log.events('inbound.resumed').at(-1)?.event, 'inbound.resumed', 'the last host-wide change resumed reading')
  const paused = await host.server.ctx.metrics.readsPaused.get()
  t.equal(paused.values[0]?.value, host.log.events('inbound.paused').length, 'rsh_reads_paused_total counts the pauses')
  t.same(
    host.log.lines.filter((l) => l.level === 'error'),
    [],
    'nothing at error level',
  )
})

t.test('over the budget with only partial frames: one connection at a time completes its frame; no deadlock', async (t) => {
  const host = await startHost(t, LIMITS)
  const clients = await wires(host, 4, 'partial')
  const frames = clients.map((wire, i) => wire.seal('appendMessage', { role: 'user', content: bigContent(i) }))
  host.server.ctx.inbound.resetPeak()
  // 4 × 600 KiB of frames none of which is complete: past the budget, and nothing to answer.
  const pieces = clients.map((wire, i) => sentInPieces(wire, frames[i]!, 600 * 1024))
  await host.log.waitFor('inbound.paused')
  await host.log.waitFor('inbound.privileged')
  pieces.forEach((p) => p.rest())
  const replies = await Promise.all(clients.map(async (wire, i) => wire.open(await wire.reply(frames[i]!.id, 30_000))))
  t.same(
    replies.map((r) => [r.type, r.ok, r.seq]),
    clients.map(() => ['appendMessageResponse', true, 1]),
    'every frame answered',
  )
  const budget = host.server.ctx.inbound
  t.ok(budget.peak <= bound(host), `within the budget plus one frame (peak ${budget.peak})`)
  await waitUntil(() => budget.current === 0, { what: 'every byte released' })
  t.notOk(budget.paused, 'reading again')
})

t.test('the one connection let through that stalls is closed with 1013 after SLOW_CLIENT_MS; the others are answered', async (t) => {
  const host = await startHost(t, { ...LIMITS, slowClientMs: 300 })
  const [staller, ...others] = await wires(host, 4, 'stall')
  const stallFrame = staller!.seal('appendMessage', { role: 'user', content: bigContent(0) })
  const frames = others.map((wire, i) => wire.seal('appendMessage', { role: 'user', content: bigContent(i + 1) }))
  // The staller is the furthest into its frame, so it is the one let through; then it sends nothing more.
  sentInPieces(staller!, stallFrame, 800 * 1024)
  await waitUntil(() => host.server.ctx.inbound.current >= 800 * 1024, { what: 'the staller’s bytes read' })
  const pieces = others.map((wire, i) => sentInPieces(wire, frames[i]!, 500 * 1024))
  const privileged = await host.log.waitFor('inbound.privileged')
  pieces.forEach((p) => p.rest())

  const slow = await host.log.waitFor('connection.slow_sender')
  t.equal(slow.conn_id, privileged.conn_id, 'the stalled connection is the one that was let through')
  t.equal(slow.level, 'warn', 'at warn')
  t.ok((slow.partial_bytes as number) >= 800 * 1024 && (slow.ms as number) >= 300, 'with its partial bytes and how long it held the others up')
  const closed = await staller!.closed
  t.equal(closed.code, 1013, 'closed with 1013 (try again later)')
  const replies = await Promise.all(others.map(async (wire, i) => wire.open(await wire.reply(frames[i]!.id, 30_000))))
  t.same(
    replies.map((r) => [r.type, r.ok, r.seq]),
    others.map(() => ['appendMessageResponse', true, 1]),
    'the others are answered',
  )
  t.equal(host.server.ctx.sessions.get('stall-0')?.history.total, 0, 'the stalled frame was not carried out')
  const slowSenders = await host.server.ctx.metrics.slowSenders.get()
  t.equal(slowSenders.values[0]?.value, 1, 'rsh_slow_senders_total')
  await waitUntil(() => host.server.ctx.inbound.current === 0, { what: 'every byte released' })
  t.same(
    host.log.lines.filter((l) => l.level === 'error'),
    [],
    'nothing at error level',
  )
})
