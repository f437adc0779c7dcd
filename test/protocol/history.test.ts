// History with attempts, paging, and endSession, over a real socket.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

t.test('new attempts number up; history is kept and tagged per attempt', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  const first = await wire.init({ sessionId: 'att', identity, newAttempt: true })
  t.equal(first.info?.attempt, 1, 'new_attempt on a session this init creates is ignored')
  for (const c of ['a1', 'a2', 'a3']) t.equal((await wire.request('appendMessage', { role: 'user', content: c })).attempt, 1)

  // A reconnect that starts a new attempt must not mix transcripts.
  const other = await Wire.open(host.wsUrl, host.hostPublicKey)
  const second = await other.init({ sessionId: 'att', identity, newAttempt: true })
  t.same(second.info, { created: false, attempt: 2, status: 'active', vectors: 0, dims: null, history: 0, history_total: 3 })
  const b1 = await other.request('appendMessage', { role: 'assistant', content: 'b1' })
  t.same([b1.seq, b1.attempt], [4, 2], 'seq runs on across attempts')
  await other.request('appendMessage', { role: 'user', content: 'b2' })

  const current = await other.request('getHistory')
  t.equal(current.attempt, 2)
  t.same(
    current.messages.map((m: any) => m.content),
    ['b1', 'b2'],
    'default is the current attempt only',
  )
  for (const m of current.messages) {
    t.same(Object.keys(m).sort(), ['attempt', 'content', 'role', 'seq', 'ts'])
    t.type(m.ts, 'number')
  }
  const old = await other.request('getHistory', { attempt: 1 })
  t.equal(old.attempt, 2, "the reply's attempt is always the current one")
  t.same(
    old.messages.map((m: any) => m.content),
    ['a1', 'a2', 'a3'],
  )
  const all = await other.request('getHistory', { attempt: 'all' })
  t.same(
    all.messages.map((m: any) => m.seq),
    [1, 2, 3, 4, 5],
  )

  const newest = await other.request('getHistory', { attempt: 'all', limit: 2 })
  t.same(
    newest.messages.map((m: any) => m.seq),
    [4, 5],
    'limit gives the newest, oldest first',
  )
  const page = await other.request('getHistory', { attempt: 'all', limit: 2, before_seq: 4 })
  t.same(
    page.messages.map((m: any) => m.seq),
    [2, 3],
    'before_seq pages back',
  )

  for (const bad of [
    { attempt: 3 },
    { attempt: 0 },
    { attempt: 'latest' },
    { attempt: 1.5 },
    { limit: 0 },
    { limit: -1 },
    { limit: 2.5 },
    { limit: '2' },
    { before_seq: 0 },
    { before_seq: 'x' },
  ]) {
    const r = await other.request('getHistory', bad)
    t.equal(r.error?.code, 'bad_request', `getHistory ${JSON.stringify(bad)}`)
  }
  const info = await wire.request('sessionInfo')
  t.equal(info.attempt, 2)
  t.equal(info.history, 2)
  t.equal(info.history_total, 5)
  t.equal(host.log.events('session.attempt_started').length, 1)
})

t.test('history limits refuse with limit_exceeded and drop nothing', async (t) => {
  const host = await startHost(t, { maxHistory: 2, maxMessageChars: 5 })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'lim', identity: generateIdentity() })
  t.equal((await wire.request('appendMessage', { role: 'user', content: '123456' })).error?.code, 'limit_exceeded')
  t.equal((await wire.request('appendMessage', { role: 'user', content: '' })).ok, true, 'empty content is allowed')
  t.equal((await wire.request('appendMessage', { role: 'system', content: '12345' })).ok, true)
  t.equal((await wire.request('appendMessage', { role: 'user', content: 'x' })).error?.code, 'limit_exceeded')
  t.same(
    (await wire.request('getHistory')).messages.map((m: any) => m.content),
    ['', '12345'],
  )
})

t.test('endSession: read-only afterwards, other connections are told', async (t) => {
  const host = await startHost(t)
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  await a.init({ sessionId: 'end', identity })
  await b.init({ sessionId: 'end', identity })
  await a.request('appendMessage', { role: 'user', content: 'before' })

  const ended = await a.request('endSession')
  t.same({ type: ended.type, ok: ended.ok, status: ended.status }, { type: 'endSessionResponse', ok: true, status: 'ended' })
  const notice = await b.waitFor((f) => f.type === 'encrypted_message' && f.id === null)
  const plain = b.open(notice)
  t.same(plain, { type: 'session_status', status: 'ended', reason: 'ended_by_client' })
  t.equal((await a.request('appendMessage', { role: 'user', content: 'after' })).error?.code, 'session_ended')
  // Sent in order on a's connection, a notice would have come before that reply.
  t.equal(a.frames.filter((f) => f.id === null).length, 0, 'the connection that ended it gets no notice')
  t.equal((await b.request('uploadVectors', { vectors: [{ id: 'v', vector: [1, 0] }] })).error?.code, 'session_ended')
  t.equal((await b.request('clearVectors')).error?.code, 'session_ended')
  t.equal((await b.request('deleteVectors', { ids: ['v'] })).error?.code, 'session_ended')
  t.same(
    (await b.request('getHistory')).messages.map((m: any) => m.content),
    ['before'],
    'reads still work',
  )
  t.equal((await b.request('sessionInfo')).status, 'ended')
  t.same((await b.request('searchVectors', { vector: [1, 0] })).results, [])
  const again = await b.request('endSession')
  t.same([again.ok, again.status], [true, 'ended'], 'ending again answers the same')

  // An init of an ended session succeeds without new_attempt and reports it.
  const c = await Wire.open(host.wsUrl, host.hostPublicKey)
  const resumed = await c.init({ sessionId: 'end', identity })
  t.equal(resumed.info?.status, 'ended')
  t.equal(resumed.info?.history_total, 1)
  const refused = await c.init({ sessionId: 'end', identity, newAttempt: true })
  t.equal(refused.ack.error?.code, 'session_ended')
  t.equal((await c.request('ping')).ok, true, 'the failed init left the key as it was')
})
