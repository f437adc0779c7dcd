import t from 'tap'
import { SessionStore } from '../../src/sessions/session-store.js'
import type { SessionVectors } from '../../src/vectors/index.js'
import { captureLogger } from '../helpers/silent-logger.js'
import { makeEngine } from '../vectors/fixtures/engine.js'

function store(t: { teardown(fn: () => unknown): void }, max = 2, clock = { now: 1_000 }, extra: { maxSessionsPerAddress?: number } = {}) {
  const log = captureLogger()
  const { engine } = makeEngine({}, t)
  const s = new SessionStore<SessionVectors>({
    maxSessions: max,
    maxHistory: 100,
    maxMessageChars: 100,
    reconnectGraceMs: 1_000,
    retentionMs: 5_000,
    ...extra,
    createVectors: (id) => engine.createSessionIndex(id),
    logger: log.logger,
    now: () => clock.now,
  })
  return { s, clock, log, engine }
}

t.test('ensureSessionExists creates once and never replaces or empties', async (t) => {
  const { s } = store(t)
  const a = s.ensureSessionExists('s1', 'owner')
  t.equal(a.created, true)
  a.session.history.append('user', 'hi', 1, 0)
  const b = s.ensureSessionExists('s1', 'someone-else')
  t.equal(b.created, false)
  t.equal(b.session, a.session, 'the very same session object')
  t.equal(b.session.history.total, 1, 'history kept')
  t.equal(b.session.owner, 'owner', 'owner unchanged')
  t.equal(a.session.seq, 1)
  t.equal(s.ensureSessionExists('s2', 'o').session.seq, 2, 'host-given seq increases')
})

t.test('capacity: refuse with a retryable error; active and detached are never dropped', async (t) => {
  const { s, clock, engine } = store(t, 2)
  const one = s.ensureSessionExists('a', 'o').session
  const two = s.ensureSessionExists('b', 'o').session
  s.bind(one, 'c1')
  s.bind(two, 'c2')
  s.unbind(two, 'c2')
  t.equal(two.status, 'detached')
  const err = t.throws(() => s.ensureSessionExists('c', 'o')) as unknown as { code: string; retryAfterMs: number }
  t.equal(err.code, 'capacity_exceeded')
  t.ok(err.retryAfterMs >= 1000 && err.retryAfterMs <= 60_000, 'retry hint in bounds')
  t.equal(s.wouldAcceptNew().ok, false)
  t.equal(s.size, 2)

  clock.now += 1_000 // grace over: b may be reclaimed
  t.equal(s.wouldAcceptNew().ok, true)
  const c = s.ensureSessionExists('c', 'o')
  t.equal(c.created, true)
  t.equal(s.get('b'), undefined, 'b was reclaimed')
  t.throws(() => two.vectors.upload({ vectors: [] }), "b's vectors were disposed")
  t.equal(engine.stats().sessions, 2, 'the engine holds a and c only')
  t.ok(s.get('a'), 'active session kept')
})

t.test('reclaim drops ended and abandoned sessions, oldest first', async (t) => {
  const { s, clock } = store(t, 3)
  const a = s.ensureSessionExists('a', 'o').session
  clock.now += 10
  const b = s.ensureSessionExists('b', 'o').session
  clock.now += 10
  s.ensureSessionExists('c', 'o')
  s.end(b)
  clock.now += 10
  s.end(a)
  s.touch(a)
  const dropped: string[] = []
  s.on('dropped', (session, reason) => dropped.push(`${session.id}:${reason}`))
  s.ensureSessionExists('d', 'o')
  t.same(dropped, ['b:reclaimed'], 'b was the least recently active')
})

t.test('lifecycle: detached -> abandoned (auto_recovered) -> dropped; resume on bind', async (t) => {
  const { s, clock, log } = store(t, 10)
  const x = s.ensureSessionExists('x', 'o').session
  s.bind(x, 'c1')
  t.equal(x.status, 'active')
  s.unbind(x, 'c1')
  t.equal(x.status, 'detached')
  clock.now += 999
  s.sweep()
  t.equal(x.status, 'detached')
  clock.now += 1
  t.same(s.sweep(), { abandoned: 1, dropped: 0 })
  t.equal(x.status, 'abandoned')
  t.equal(x.autoRecovered, true)
  s.bind(x, 'c2')
  t.equal(x.status, 'active', 'an init resumes an abandoned session')
  s.unbind(x, 'c2')
  clock.now += 1_000
  s.sweep()
  clock.now += 5_000
  t.same(s.sweep(), { abandoned: 0, dropped: 1 })
  t.equal(s.get('x'), undefined)
  t.ok(log.events('session.abandoned').length >= 1)
  t.equal(log.events('session.dropped').length, 1)
})

t.test('ended sessions are kept for retention, then dropped', async (t) => {
  const { s, clock } = store(t, 10)
  const e = s.ensureSessionExists('e', 'o').session
  s.end(e)
  clock.now += 4_999
  s.sweep()
  t.ok(s.get('e'))
  clock.now += 1
  s.sweep()
  t.equal(s.get('e'), undefined)
})

t.test('live sessions per creating address follow every status change', async (t) => {
  const { s, clock } = store(t, 10, { now: 1_000 }, { maxSessionsPerAddress: 2 })
  const A = '10.0.0.1'
  s.reserveNew(A)
  t.equal(s.liveSessionsOf(A), 1, 'an admission counts at once')
  s.release(A)
  t.equal(s.liveSessionsOf(A), 0, 'and a released one no more')
  s.reserveNew(A)
  const one = s.create('one', s.allocateSeq(), 'o', clock.now, true, A)
  s.reserveNew(A)
  const two = s.create('two', s.allocateSeq(), 'o', clock.now, true, A)
  t.equal(s.liveSessionsOf(A), 2)
  t.throws(() => s.reserveNew(A), { code: 'limit_exceeded' })
  t.throws(() => s.wouldAcceptNew(A), { code: 'limit_exceeded' })
  t.same(s.wouldAcceptNew('10.0.0.2'), { ok: true }, 'another address is not held back')
  s.reserveNew() // no address (recovery, embedding): never counted
  s.release()

  s.bind(one, 'c1')
  s.unbind(one, 'c1')
  t.equal(one.status, 'detached')
  t.equal(s.liveSessionsOf(A), 2, 'detached is still live')
  s.end(two)
  t.equal(s.liveSessionsOf(A), 1, 'ended is not')
  s.abandon(one)
  t.equal(one.status, 'abandoned')
  t.equal(s.liveSessionsOf(A), 0, 'abandoned is not')
  s.bind(one, 'c2')
  t.equal(s.liveSessionsOf(A), 1, 'resumed is live again')
  s.drop(one, 'admin')
  t.equal(s.liveSessionsOf(A), 0, 'dropped is gone')
  s.replayStatus(
    s.restore({ id: 'r', seq: 9, owner: 'o', createdAt: 1, attempt: 1, status: 'ended', autoRecovered: false, statusSince: 1, lastActiveAt: 1, address: A }),
    'resumed',
    2,
  )
  t.equal(s.liveSessionsOf(A), 1, 'restored ended, then resumed on replay')
  s.replayDrop(s.get('r')!)
  t.equal(s.liveSessionsOf(A), 0)
  s.create('plain', s.allocateSeq(), 'o', clock.now, false, A)
  t.equal(s.liveSessionsOf(A), 1, 'recovery creates count for their address')
  s.clear()
  t.equal(s.liveSessionsOf(A), 0)
})
