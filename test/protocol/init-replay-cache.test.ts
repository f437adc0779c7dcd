// A full init replay cache (REPLAY_CACHE_MAX): the host will not forget a live
// eph_pub early, so the next init is refused with a retryable rate_limited
// that says when there is room, nothing changes, and inits succeed again once
// the oldest entry has expired. The host runs on a clock the test moves.
import t from 'tap'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

t.test('a full replay cache refuses inits with rate_limited, changes nothing, and takes inits again once there is room', async (t) => {
  const clock = { now: Date.now() }
  const host = await startHost(t, {}, { now: () => clock.now, env: { REPLAY_CACHE_MAX: '2', INIT_CLOCK_SKEW_MS: '300000', REPLAY_WINDOW_MS: '600000' } })
  const start = clock.now
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const c = await Wire.open(host.wsUrl, host.hostPublicKey)
  t.equal((await a.init({ sessionId: 'rc-a', identity, ts: clock.now })).ack.ok, true)
  clock.now += 1000
  t.equal((await b.init({ sessionId: 'rc-b', identity, ts: clock.now })).ack.ok, true)
  await a.request('appendMessage', { role: 'user', content: 'kept' })
  t.equal(host.server.ctx.replays.size, 2, 'the cache is full')

  // A new session cannot start...
  const refused = await c.init({ sessionId: 'rc-c', identity, ts: clock.now, requestId: 'full-1' })
  t.match(refused.ack, { type: 'session_init_ack', id: 'full-1', ok: false, error: { code: 'rate_limited', retryable: true } })
  t.type(refused.ack.error.message, 'string')
  t.equal(refused.ack.error.retry_after_ms, 599_000, 'room when the oldest entry (a, accepted 1 s ago) expires')
  // ...nor can a bound session rotate its key.
  const rotate = await a.init({ sessionId: 'rc-a', identity, ts: clock.now, requestId: 'full-2' })
  t.match(rotate.ack, { ok: false, error: { code: 'rate_limited', retry_after_ms: 599_000 } })

  // Nothing changed: no session, no cache entry, no key; the old keys and counters still hold.
  t.equal(host.server.ctx.sessions.get('rc-c'), undefined)
  t.equal(host.server.ctx.sessions.size, 2)
  t.equal(host.server.ctx.replays.size, 2, 'the refused eph_pubs were not remembered')
  t.equal(host.server.ctx.keys.size, 2)
  const h = await a.request('getHistory')
  t.same(
    h.messages.map((m: any) => m.content),
    ['kept'],
    "a's first key and its counter (now 2) still work",
  )
  t.equal((await b.request('ping')).ok, true)
  c.sessionId = 'rc-c'
  c.key = refused.key
  const probe = c.seal('ping')
  c.send(probe)
  t.equal((await c.reply(probe.id)).error.code, 'no_session', 'c holds no key')

  // One millisecond short of the hint, still full.
  clock.now = start + 600_000 - 1
  const early = await c.init({ sessionId: 'rc-c', identity, ts: clock.now, requestId: 'full-3' })
  t.match(early.ack, { ok: false, error: { code: 'rate_limited', retry_after_ms: 1 } })

  // a's entry expires: room for one.
  clock.now = start + 600_000
  const later = await c.init({ sessionId: 'rc-c', identity, ts: clock.now })
  t.equal(later.ack.ok, true, 'an init succeeds once there is room')
  t.equal(later.info?.created, true)
  t.equal((await c.request('ping')).ok, true)
  t.equal(host.server.ctx.replays.size, 2, "a's expired entry made way for c's")
  const next = await a.init({ sessionId: 'rc-a', identity, ts: clock.now, requestId: 'full-4' })
  t.match(next.ack, { ok: false, error: { code: 'rate_limited', retry_after_ms: 1000 } }, "full again until b's entry expires")
})
