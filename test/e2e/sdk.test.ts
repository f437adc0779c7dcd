// The client SDK against a real host: the whole flow, the reconnect after the
// host drops the socket, and the seed bug (vectors wiped by a re-init).
import t from 'tap'
import { SessionClient, HostError, generateIdentity } from '@rag-session-host/client'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { startHost } from '../helpers/host.js'

t.test('SDK: open, append, history, info, ping, end', async (t) => {
  const host = await startHost(t)
  const client = await SessionClient.connect(host.url)
  t.teardown(() => client.close())
  const info = await client.openSession('sdk-1')
  t.equal(info.created, true)
  t.same(await client.appendMessage('user', 'hello'), { seq: 1, attempt: 1 })
  const h = await client.getHistory()
  t.same(
    h.messages.map((m) => m.content),
    ['hello'],
  )
  const s = await client.sessionInfo()
  t.equal(s.session_id, 'sdk-1')
  t.equal(s.connections, 1)
  t.type((await client.ping()).ts, 'number')
  const err = await client.request('nope').catch((e: unknown) => e)
  t.ok(err instanceof HostError)
  t.equal((err as HostError).code, 'bad_request')
  t.equal((await client.endSession()).status, 'ended')
  const ended = await client.appendMessage('user', 'late').catch((e: unknown) => e)
  t.equal((ended as HostError).code, 'session_ended')
})

t.test('SDK with a pinned host key and a second identity refused', async (t) => {
  const host = await startHost(t)
  const owner = await SessionClient.connect(host.url, { hostPublicKey: encodeBase64(host.hostPublicKey) })
  const thief = await SessionClient.connect(host.url)
  t.teardown(() => Promise.all([owner.close(), thief.close()]))
  await owner.openSession('pinned')
  await owner.appendMessage('user', 'mine')
  const err = (await thief.openSession('pinned').catch((e: unknown) => e)) as HostError
  t.equal(err.code, 'forbidden')
  t.equal(err.retryable, false)
  t.same(
    (await owner.getHistory()).messages.map((m) => m.content),
    ['mine'],
  )
})

t.test('SDK reconnects after the host drops the socket, re-inits with a new key, keeps the session', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const client = await SessionClient.connect(host.url, { identity, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
  t.teardown(() => client.close())
  await client.openSession('rc')
  await client.appendMessage('user', 'before drop')
  await client.uploadVectors([
    { id: 'a', vector: [1, 0, 0] },
    { id: 'b', vector: [0, 1, 0] },
  ])

  const disconnected = client.next('disconnected')
  const reconnected = client.next('reconnected')
  const connBefore = [...host.server.ctx.connections.keys()]
  // The SDK writes the request to its socket at once; the host's side goes before it reads it.
  const inFlight = client.request('ping', {}, { timeoutMs: 10_000 })
  for (const socket of host.server.app.websocketServer.clients) socket.terminate()
  await disconnected
  const failed = (await inFlight.then(
    () => undefined,
    (e: unknown) => e,
  )) as HostError | undefined
  t.ok(failed instanceof HostError, 'an in-flight request is rejected, not left hanging')
  t.equal(failed?.code, 'disconnected')
  t.equal(failed?.retryable, true)
  const [info] = (await reconnected) as [{ created: boolean; history_total: number; vectors: number; attempt: number }]
  t.equal(info.created, false)
  t.equal(info.attempt, 1, 'a reconnect continues the attempt')
  t.equal(info.history_total, 1)
  t.equal(info.vectors, 2)
  const connAfter = [...host.server.ctx.connections.keys()]
  t.equal(connAfter.length, 1)
  t.notOk(connBefore.includes(connAfter[0]!), 'a new connection')
  t.ok(host.server.ctx.keys.get(connAfter[0]!, 'rc'), 'which holds its own key')
  t.equal(host.log.events('key.rotated').length, 2, 'the reconnect installed a new key')
  const h = await client.getHistory()
  t.same(
    h.messages.map((m) => m.content),
    ['before drop'],
  )
  const found = await client.searchVectors([1, 0, 0], { k: 1 })
  t.equal(found.results[0]?.id, 'a')
})

t.test('the seed bug: 63 vectors survive a second init (new key) and a reconnect; the next search is answered', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const first = await SessionClient.connect(host.url, { identity })
  t.teardown(() => first.close())
  await first.openSession('seed')
  const vectors = Array.from({ length: 63 }, (_, i) => ({ id: `chunk-${i}`, vector: Array.from({ length: 16 }, (_, j) => Math.sin(i * 16 + j + 1)), metadata: { i } }))
  const up = await first.uploadVectors(vectors)
  t.equal(up.uploaded, 63)
  t.equal(up.total, 63)

  const again = await first.openSession('seed') // second init on the same connection: new key
  t.equal(again.created, false)
  t.equal(again.vectors, 63, 'nothing wiped by the re-init')

  const second = await SessionClient.connect(host.url, { identity })
  t.teardown(() => second.close())
  const info = await second.openSession('seed')
  t.equal(info.vectors, 63, 'nothing wiped by an init on another connection')
  const res = await second.searchVectors(vectors[7]!.vector, { k: 3 })
  t.equal(res.total, 63)
  t.equal(res.results[0]?.id, 'chunk-7')
  t.same(res.results[0]?.metadata, { i: 7 })
})
