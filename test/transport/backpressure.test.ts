// Backpressure (PROTOCOL.md §3.4): a client that sends faster than it is served makes the
// host stop reading its socket once CONNECTION_QUEUE_MAX frames are queued,
// and read again when the queue is half empty. Nothing is refused: every
// frame is answered, in order.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

t.test('a flood pauses the socket at CONNECTION_QUEUE_MAX and resumes it; every frame answered in order', async (t) => {
  // Every frame is opened on the worker, so serving one takes a round trip to
  // it while the rest of the flood is already in the socket.
  const queueMax = 4
  const host = await startHost(t, { connectionQueueMax: queueMax, cryptoOffloadBytes: 1024 })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'flood', identity: generateIdentity() })

  const count = 10 * queueMax
  const frames = Array.from({ length: count }, (_, i) => wire.seal('appendMessage', { role: 'user', content: `m${i} ${'x'.repeat(2000)}` }))
  for (const f of frames) wire.send(f)
  const last = await wire.reply(frames[count - 1]!.id, 10_000)

  const answered = [...wire.frames, last]
  t.same(
    answered.map((f) => f.id),
    frames.map((f) => f.id),
    'one reply for every frame, in the order sent',
  )
  const replies = answered.map((f) => wire.open(f))
  t.ok(
    replies.every((r) => r.type === 'appendMessageResponse' && r.ok),
    'none refused',
  )
  t.same(
    replies.map((r) => r.seq),
    Array.from({ length: count }, (_, i) => i + 1),
    'carried out in order',
  )

  const flow = host.log.lines.filter((l) => l.event === 'connection.paused' || l.event === 'connection.resumed')
  t.ok(flow.length >= 2, 'reading was paused and resumed')
  t.equal(flow.at(-1)?.event, 'connection.resumed', 'reading again at the end')
  flow.forEach((l, i) => {
    t.equal(l.event, i % 2 === 0 ? 'connection.paused' : 'connection.resumed', `pause and resume alternate (${i})`)
    if (l.event === 'connection.paused') t.equal(l.queued, queueMax, 'paused at CONNECTION_QUEUE_MAX')
    else t.ok((l.queued as number) <= queueMax / 2, 'resumed once the queue was half empty')
  })

  const history = await wire.request('getHistory', { limit: count })
  t.equal(history.messages.length, count, 'every message stored')
})
