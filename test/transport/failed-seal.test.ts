// A reply that cannot be sealed (the frame worker stops while it seals):
// the client still gets exactly one typed reply for its request, the session
// keeps everything, and the connection goes on serving.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { occupyFrameWorker, requestsCounted } from '../helpers/host-state.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

t.test('a reply the host cannot seal is a plaintext internal error carrying its id; nothing is lost', async (t) => {
  const host = await startHost(t)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'unsealed', identity: generateIdentity() })
  const big = 'é'.repeat(30_000) // 60 KB of UTF-8 each: two make a reply the worker seals
  for (let i = 0; i < 2; i++) t.equal((await wire.request('appendMessage', { role: 'user', content: big + i })).ok, true)

  // The reply's seal waits behind a long one; the worker is stopped under both.
  const busy = occupyFrameWorker(host)
  const history = wire.seal('getHistory')
  wire.send(history)
  await waitUntil(async () => (await requestsCounted(host, 'getHistory')) === 1, { what: 'getHistory carried out, its reply waiting on the worker' })
  await host.server.ctx.offload.close()
  t.type(await busy, Error, 'the worker stopped before it finished')

  const reply = await wire.reply(history.id)
  t.equal(reply.type, 'error', 'answered in plaintext: there is no sealed reply to send')
  t.equal(reply.ok, false)
  t.equal(reply.error.code, 'internal')
  t.equal(reply.error.retryable, true)
  t.equal(reply.error.message, 'internal error', 'the fault itself is not told')
  const faults = host.log.events('reply.fault')
  t.equal(faults.length, 1)
  t.equal(faults[0]?.req_id, history.id)
  t.equal(faults[0]?.level, 'error', 'logged as a host fault')

  // Replies come in request order, so once the next one is here no second reply to the first can follow.
  const info = await wire.request('sessionInfo')
  t.equal(info.history_total, 2, 'the session kept both messages')
  t.equal(wire.frames.filter((f) => f.id === history.id).length, 0, 'exactly one reply')
  const last = await wire.request('getHistory', { limit: 1 })
  t.same(
    last.messages.map((m: { content: string }) => m.content),
    [big + 1],
  )
})
