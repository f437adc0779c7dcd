// Slow consumers (MAX_OUTBOUND_BYTES, SLOW_CLIENT_MS): a client that stops
// reading its replies is not read from, and none of its further requests is
// carried out, while its unsent reply bytes are over the limit. If it reads
// again, everything is answered in order; if it stays over the limit for
// SLOW_CLIENT_MS it is closed (1008) and cut off shortly after.
import t from 'tap'
import { startHost, type TestHost } from '../helpers/host.js'
import { requestsCounted } from '../helpers/host-state.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const MiB = 1024 * 1024
const MESSAGES = 64
const REQUESTS = 20

/** A session whose getHistory reply is about 2.8 MB sealed: 64 messages of 32 000 characters. */
async function fullSession(host: TestHost, sessionId: string): Promise<Wire> {
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId, identity: generateIdentity() })
  for (let i = 0; i < MESSAGES; i++) await wire.request('appendMessage', { role: 'user', content: `${i} `.padEnd(32_000, 'x') })
  return wire
}

/** The client stops reading, then asks for its history REQUESTS times and appends one message. */
function floodWithoutReading(wire: Wire): { history: Record<string, any>[]; append: Record<string, any> } {
  wire.ws.pause()
  const history = Array.from({ length: REQUESTS }, () => wire.seal('getHistory'))
  const append = wire.seal('appendMessage', { role: 'user', content: 'after the flood' })
  for (const f of [...history, append]) wire.send(f)
  return { history, append }
}

t.test('a client that stops reading: its later requests are held; once it reads, everything is answered in order', async (t) => {
  const host = await startHost(t, { maxOutboundBytes: 1 * MiB, slowClientMs: 60_000 })
  const wire = await fullSession(host, 'reader')
  const session = host.server.ctx.sessions.get('reader')!
  const before = await requestsCounted(host, 'getHistory')
  const { history, append } = floodWithoutReading(wire)

  const paused = await host.log.waitFor('connection.outbound_paused', undefined, 30_000)
  t.ok((paused.unsent_bytes as number) > MiB, 'over MAX_OUTBOUND_BYTES')
  t.ok((await requestsCounted(host, 'getHistory')) - before < REQUESTS, 'not every getHistory was carried out')
  t.equal(session.history.total, MESSAGES, 'the append after them was not carried out')

  wire.ws.resume()
  const replies = await Promise.all([...history, append].map(async (f) => wire.open(await wire.reply(f.id, 60_000))))
  t.ok(
    replies.slice(0, REQUESTS).every((r) => r.type === 'getHistoryResponse' && r.ok && r.messages.length === MESSAGES),
    'every getHistory answered in full',
  )
  t.same([replies.at(-1)!.type, replies.at(-1)!.ok, replies.at(-1)!.seq], ['appendMessageResponse', true, MESSAGES + 1], 'then the append, carried out last')
  t.equal(session.history.total, MESSAGES + 1, 'stored')
  t.equal(wire.frames.length, 0, 'no other frame')
  await host.log.waitFor('connection.outbound_resumed')
  t.equal(host.log.events('connection.slow_consumer').length, 0, 'not closed')
  t.equal(wire.ws.readyState, wire.ws.OPEN, 'still open')
  const r = await wire.request('sessionInfo')
  t.ok(r.ok, 'and served as usual')
})

t.test('a client that never reads again is closed with 1008 after SLOW_CLIENT_MS, with one connection.slow_consumer warn line', async (t) => {
  const host = await startHost(t, { maxOutboundBytes: 1 * MiB, slowClientMs: 300 })
  const wire = await fullSession(host, 'stuck')
  const session = host.server.ctx.sessions.get('stuck')!
  const before = await requestsCounted(host, 'getHistory')
  floodWithoutReading(wire)

  const slow = await host.log.waitFor('connection.slow_consumer', undefined, 30_000)
  t.equal(slow.level, 'warn', 'at warn')
  t.ok((slow.unsent_bytes as number) > MiB, 'with its unsent bytes')
  t.equal(slow.limit, MiB, 'and the limit')
  t.ok((slow.ms as number) >= 300, 'and how long it was over it')
  await host.log.waitFor('connection.closed', { conn_id: slow.conn_id }, 10_000)
  t.ok((await requestsCounted(host, 'getHistory')) - before < REQUESTS, 'the held getHistory requests were never carried out')
  t.equal(session.history.total, MESSAGES, 'nor the append')
  t.equal(session.connections.size, 0, 'the session no longer counts the connection')
  const metric = await host.server.ctx.metrics.slowConsumers.get()
  t.equal(metric.values[0]?.value, 1, 'rsh_slow_consumers_total')
  const outbound = await host.server.ctx.metrics.outboundBytes.get()
  t.equal(outbound.values[0]?.value, 0, 'rsh_outbound_bytes back to 0')
  t.equal(host.log.events('connection.slow_consumer').length, 1, 'one warn line')
  t.same(
    host.log.lines.filter((l) => l.level === 'error'),
    [],
    'nothing at error level',
  )
  // What it had not read is gone with the socket; the close frame came after it, so it may be lost too (1006).
  wire.ws.resume()
  const closed = await wire.closed
  t.ok([1008, 1006].includes(closed.code), `the client sees the close (${closed.code})`)
})
