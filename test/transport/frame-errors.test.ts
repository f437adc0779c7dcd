// What a client sends wrong at the WebSocket level is its mistake, never a
// host fault: a frame over MAX_FRAME_BYTES closes the connection with 1009 and
// one `frame.too_large` warn line (its declared size and the limit); other
// protocol errors close it with ws's code (1002) and one
// `connection.protocol_error` warn line. Nothing is logged at error level, and
// what the client had already been answered stays.
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { startHost, type TestHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const LIMIT = 64 * 1024

/** The TCP socket under a client ws (its internals: the test writes bytes ws itself would never send). */
const tcp = (wire: Wire): Socket => (wire.ws as unknown as { _socket: Socket })._socket

async function session(host: TestHost, sessionId: string): Promise<Wire> {
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  wire.ws.on('error', () => undefined) // the client's ws reports the host's close as an error too
  await wire.init({ sessionId, identity: generateIdentity() })
  const r = await wire.request('appendMessage', { role: 'user', content: 'before' })
  if (!r.ok) throw new Error('append failed')
  return wire
}

async function closedFor(t: Test, host: TestHost, wire: Wire, sessionId: string, code: number): Promise<Record<string, unknown>[]> {
  const closed = await wire.closed
  t.equal(closed.code, code, `the client sees ${code}`)
  await host.log.waitFor('connection.closed')
  t.equal(host.server.ctx.sessions.get(sessionId)?.history.total, 1, 'what was answered before is kept')
  t.equal(host.server.ctx.inbound.current, 0, 'no inbound bytes left accounted')
  t.same(
    host.log.lines.filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    'nothing at error level',
  )
  t.equal(host.log.events('framework.log').filter((l) => l.level !== 'info').length, 0, 'no framework line about it')
  return host.log.lines.filter((l) => l.level === 'warn')
}

t.test('a frame over MAX_FRAME_BYTES: 1009 and exactly one frame.too_large warn line with its size', async (t) => {
  const host = await startHost(t, { maxFrameBytes: LIMIT })
  const wire = await session(host, 'big')
  wire.send('x'.repeat(LIMIT + 1000))
  const warns = await closedFor(t, host, wire, 'big', 1009)
  t.equal(warns.length, 1, 'one warn line')
  t.match(warns[0], { event: 'frame.too_large', size: LIMIT + 1000, limit: LIMIT, conn_id: String }, 'frame.too_large with the declared size and the limit')
})

t.test('a header declaring 1 GiB: refused at the header, with the declared size', async (t) => {
  const host = await startHost(t, { maxFrameBytes: LIMIT })
  const wire = await session(host, 'huge')
  const header = Buffer.alloc(14)
  header[0] = 0x81
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(2 ** 30), 2)
  tcp(wire).write(header)
  const warns = await closedFor(t, host, wire, 'huge', 1009)
  t.same(
    warns.map((l) => [l.event, l.size, l.limit]),
    [['frame.too_large', 2 ** 30, LIMIT]],
    'one frame.too_large line',
  )
})

t.test('a too-large message in fragments: the size is the whole message so far', async (t) => {
  const host = await startHost(t, { maxFrameBytes: LIMIT })
  const wire = await session(host, 'frag')
  wire.ws.send('a'.repeat(40 * 1024), { fin: false })
  wire.ws.send('b'.repeat(40 * 1024), { fin: true })
  const warns = await closedFor(t, host, wire, 'frag', 1009)
  t.same(
    warns.map((l) => [l.event, l.size]),
    [['frame.too_large', 80 * 1024]],
    'one frame.too_large line',
  )
})

const PROTOCOL_ERRORS: [string, number[], string][] = [
  ['an unknown opcode', [0x83, 0x80, 0, 0, 0, 0], 'WS_ERR_INVALID_OPCODE'],
  ['an unmasked frame', [0x81, 0x02, 0x68, 0x69], 'WS_ERR_EXPECTED_MASK'],
  ['a close frame with an invalid code (1005)', [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed], 'WS_ERR_INVALID_CLOSE_CODE'],
]

for (const [what, bytes, code] of PROTOCOL_ERRORS) {
  t.test(`${what}: 1002 and exactly one connection.protocol_error warn line`, async (t) => {
    const host = await startHost(t)
    const wire = await session(host, 'proto')
    tcp(wire).write(Buffer.from(bytes))
    const warns = await closedFor(t, host, wire, 'proto', 1002)
    t.equal(warns.length, 1, 'one warn line')
    t.match(warns[0], { event: 'connection.protocol_error', code, conn_id: String }, `connection.protocol_error with ${code}`)
  })
}

t.test('a client that resets its connection: no warn or error line', async (t) => {
  const host = await startHost(t)
  const wire = await session(host, 'reset')
  tcp(wire).resetAndDestroy()
  await host.log.waitFor('connection.closed')
  t.equal(host.server.ctx.sessions.get('reset')?.history.total, 1, 'kept')
  t.same(
    host.log.lines.filter((l) => l.level === 'warn' || l.level === 'error'),
    [],
    'only info lines',
  )
})
