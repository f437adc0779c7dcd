// The fence itself, on a real redis-server with the host's own cluster
// modules: once another host has taken a session over (a new epoch), a write
// of the old owner is refused by Redis and never reaches the stream, even
// when the old owner still believes its lease is valid (a pause between its
// check and its write). Leases, renewals, release and the void of a write
// whose outcome is unknown are checked the same way.
import t from 'tap'
import nacl from 'tweetnacl'
import { Leases } from '../../src/cluster/leases.js'
import { RedisJournal } from '../../src/cluster/redis-journal.js'
import { RedisLink } from '../../src/cluster/redis-link.js'
import { sessionKeys } from '../../src/cluster/scripts.js'
import { SessionStore } from '../../src/sessions/session-store.js'
import { VectorEngine, type SessionVectors } from '../../src/vectors/index.js'
import { requireClusterTools } from '../helpers/cluster-tools.js'
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { captureLogger } from '../helpers/silent-logger.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

const SECRET = nacl.randomBytes(32)

function node(t: Teardown, redis: RedisServer, nodeId: string, leaseMs = 60_000) {
  const log = captureLogger()
  const lost: string[] = []
  const fenced: string[] = []
  const link = new RedisLink({ url: redis.url, logger: log.logger, observeRtt: () => undefined, onHealth: () => undefined })
  const leases = new Leases({ link, nodeId, leaseMs, idleMs: 600_000, hostSecret: SECRET, logger: log.logger, now: Date.now, onLost: (s) => lost.push(s) })
  const vectors = new VectorEngine({
    limits: { maxBatch: 100, maxVectorsPerSession: 1000, maxDims: 16, maxK: 10, maxMetadataBytes: 1024 },
    tuning: { exactSearchMaxVectors: 1000, hnswM: 16, hnswEfConstruction: 100, hnswEfSearch: 32 },
    maxVectorBytes: 1 << 20,
    logger: log.logger,
  })
  const store = new SessionStore<SessionVectors>({
    maxSessions: 10,
    maxHistory: 100,
    maxMessageChars: 1000,
    reconnectGraceMs: 60_000,
    retentionMs: 60_000,
    maxSessionsPerAddress: 0,
    createVectors: (id) => vectors.createSessionIndex(id),
    logger: log.logger,
  })
  const journal = new RedisJournal({
    link,
    leases,
    hostSecret: SECRET,
    store,
    logger: log.logger,
    now: Date.now,
    retryMs: 100,
    idleMs: 600_000,
    snapshotBytes: 1 << 30,
    onFenced: (s) => fenced.push(s),
    exclusive: async (_s, fn) => fn(),
    observeSnapshot: () => undefined,
  })
  t.teardown(async () => {
    leases.stop()
    await link.close()
    await vectors.close()
  })
  return { link, leases, journal, store, lost, fenced, log }
}

const message = (s: string, seq: number, content: string) => ({ t: 'message' as const, s, seq, attempt: 1, role: 'user' as const, content, ts: Date.now() })

if (requireClusterTools(t, 'cluster fencing tests')) {
  t.test('a write with an old epoch is refused by Redis and never lands', async (t) => {
    const redis = await startRedisServer(t)
    const a = node(t, redis, 'fence-a')
    const b = node(t, redis, 'fence-b')
    await Promise.all([a.link.connect(), b.link.connect()])
    const k = sessionKeys('fenced')

    const got = await a.leases.acquire('fenced')
    t.ok(got.ok, 'a takes the lease')
    const refused = await b.leases.acquire('fenced')
    t.match(refused, { ok: false, owner: 'fence-a' }, 'b cannot while it is valid')
    await a.journal.commit([{ t: 'created', s: 'fenced', seq: 1, owner: 'x', ts: Date.now() }, message('fenced', 1, 'by a')])

    // The lease runs out (a paused past it): b takes over with a new epoch.
    await a.link.command(['DEL', k.lease])
    const taken = await b.leases.acquire('fenced')
    t.match(taken, { ok: true, takeover: true }, 'a takeover after expiry, counted as one')
    t.ok(taken.ok && got.ok && taken.lease.epoch > got.lease.epoch, 'the epoch grew')

    // a still trusts its lease (its clock says valid): Redis refuses the write anyway.
    t.ok(a.leases.get('fenced'), 'a has not noticed')
    const err = (await a.journal.commit([message('fenced', 2, 'late, from a')]).catch((e: unknown) => e)) as { code?: string }
    t.equal(err.code, 'unavailable', 'the late write is answered unavailable')
    t.same(a.fenced, ['fenced'], 'and reported as fenced')
    const entries = (await a.link.command(['XLEN', k.log])) as number
    t.equal(entries, 2, 'the stream holds only what a wrote while it owned the session')

    await b.journal.commit([message('fenced', 2, 'by b')])
    t.equal(await b.link.command(['XLEN', k.log]), 3)

    // a's renewal finds the lease gone: lost, never renewed over b.
    await a.leases.renewAll()
    t.same(a.lost, ['fenced'])
    t.equal(a.leases.get('fenced'), undefined)

    // b loads exactly the acknowledged history.
    b.store.continueSeqFrom(1)
    const report = await b.journal.load('fenced')
    t.equal(report.records, 3)
    t.same(
      b.store
        .get('fenced')!
        .history.all()
        .map((m) => m.content),
      ['by a', 'by b'],
    )
  })

  t.test('release hands the lease over at once; renewal keeps it past its time', async (t) => {
    const redis = await startRedisServer(t)
    const a = node(t, redis, 'rel-a', 1000)
    const b = node(t, redis, 'rel-b', 1000)
    await Promise.all([a.link.connect(), b.link.connect()])
    const got = await a.leases.acquire('rel')
    t.ok(got.ok)
    const again = await a.leases.acquire('rel')
    t.match(again, { ok: true, takeover: false }, 'acquiring what it holds renews it')
    await a.leases.renewAll()
    t.equal(a.lost.length, 0)
    if (got.ok) await a.leases.release(got.lease)
    const taken = await b.leases.acquire('rel')
    t.match(taken, { ok: true, takeover: false }, 'released, so not a takeover')
  })

  t.test('a write whose outcome is unknown is voided before the next one', async (t) => {
    const redis = await startRedisServer(t)
    const a = node(t, redis, 'void-a')
    await a.link.connect()
    const got = await a.leases.acquire('void')
    t.ok(got.ok)
    if (!got.ok) return
    await a.journal.commit([{ t: 'created', s: 'void', seq: 1, owner: 'x', ts: Date.now() }])
    // As if an append had landed but its reply was lost: an entry after the last acknowledged one.
    const k = sessionKeys('void')
    await a.link.command(['XADD', k.log, '*', 'r', 'garbage'])
    got.lease.dirty = true
    await a.journal.commit([message('void', 1, 'next')])
    const ids = (await a.link.command(['XLEN', k.log])) as number
    t.equal(ids, 2, 'the unacknowledged entry was voided')
    a.store.continueSeqFrom(1)
    await a.journal.load('void')
    t.same(
      a.store
        .get('void')!
        .history.all()
        .map((m) => m.content),
      ['next'],
    )
  })
}
