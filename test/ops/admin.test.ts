// The admin API (docs/OPERATIONS.md#admin-api), against a real host with real
// SDK clients: auth, paging, lookups, end / evict / sweep / reset with the
// notices clients receive, stats, bad input that changes nothing, journaled
// actions that survive a restart, and no content or token anywhere.
import t from 'tap'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { SessionClient, generateIdentity, type Identity } from '@rag-session-host/client'
import type { SessionStatusNotice } from '@rag-session-host/client/shared'
import { loadConfig } from '../../src/config.js'
import { segmentName } from '../../src/journal/layout.js'
import { adminToken } from '../../src/ops/admin/token.js'
import { startHost, type TestHost } from '../helpers/host.js'
import { within } from '../helpers/wait.js'

const TOKEN = 'admin-token-for-tests-5b1e0c9d'
const SECRET_CONTENT = 'SECRET-HISTORY-CONTENT-91ac'
const SECRET_META = 'SECRET-METADATA-77de'

interface Admin {
  call(method: string, path: string, opts?: { body?: unknown; raw?: string; contentType?: string; token?: string | null }): Promise<{ status: number; body: any; headers: Headers }>
  bodies: string[]
}

function admin(host: TestHost): Admin {
  const bodies: string[] = []
  return {
    bodies,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {}
      const token = opts.token === undefined ? TOKEN : opts.token
      if (token !== null) headers.authorization = `Bearer ${token}`
      let body: string | undefined
      if (opts.raw !== undefined) body = opts.raw
      else if (opts.body !== undefined) body = JSON.stringify(opts.body)
      if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json'
      const res = await fetch(`${host.url}/v1/admin${path}`, { method, headers, body })
      const text = await res.text()
      bodies.push(text)
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
    },
  }
}

async function client(
  host: TestHost,
  sessionId: string,
  identity: Identity = generateIdentity(),
): Promise<{ c: SessionClient; notices: SessionStatusNotice[]; next: () => Promise<SessionStatusNotice> }> {
  const c = await SessionClient.connect(host.url, { identity, reconnect: { maxAttempts: 0 } })
  const notices: SessionStatusNotice[] = []
  const waiting: ((n: SessionStatusNotice) => void)[] = []
  c.on('notice', (n) => {
    notices.push(n)
    waiting.shift()?.(n)
  })
  await c.openSession(sessionId)
  const next = (): Promise<SessionStatusNotice> => within(new Promise((resolve) => waiting.push(resolve)), 5000, `a notice on ${sessionId}`)
  return { c, notices, next }
}

t.test('without a token every admin route and the console are 404', async (t) => {
  const host = await startHost(t)
  for (const [method, path] of [
    ['GET', '/v1/admin/stats'],
    ['GET', '/v1/admin/sessions'],
    ['GET', '/v1/admin/sessions/x'],
    ['POST', '/v1/admin/sessions/x/end'],
    ['DELETE', '/v1/admin/sessions/x'],
    ['POST', '/v1/admin/sweep'],
    ['POST', '/v1/admin/reset'],
    ['GET', '/admin'],
  ] as const) {
    const res = await fetch(host.url + path, { method, headers: { authorization: `Bearer ${TOKEN}` } })
    t.equal(res.status, 404, `${method} ${path}`)
  }
})

t.test('auth: none and wrong are 401 (logged at warn, never the token), right is 200', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const none = await a.call('GET', '/stats', { token: null })
  t.equal(none.status, 401)
  t.same(none.body, { error: { code: 'unauthorized', message: 'send Authorization: Bearer <admin token>' } })
  t.match(none.headers.get('www-authenticate'), /^Bearer /)
  const wrong = await a.call('GET', '/stats', { token: TOKEN.slice(0, -1) + 'x' })
  t.equal(wrong.status, 401)
  t.equal(wrong.body.error.code, 'unauthorized')
  const longer = await a.call('GET', '/stats', { token: TOKEN + 'more' })
  t.equal(longer.status, 401, 'a token that merely starts with the right one is wrong')
  const basic = await fetch(`${host.url}/v1/admin/stats`, { headers: { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` } })
  t.equal(basic.status, 401, 'only Bearer is accepted')
  t.equal((await a.call('GET', '/stats')).status, 200)
  const refused = host.log.events('admin.unauthorized')
  t.equal(refused.length, 4)
  t.match(refused[0], { level: 'warn', remote: '127.0.0.1', reason: 'missing' })
  t.match(refused[1], { reason: 'wrong' })
  t.notOk(host.log.raw.join('').includes(TOKEN.slice(0, 12)), 'no log line carries the token')
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_admin_actions_total\{action="unauthorized",outcome="unauthorized"\} 4/)
})

t.test('the token can come from a file (a mounted secret)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-token-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'token')
  writeFileSync(file, TOKEN + '\n')
  t.equal(adminToken(loadConfig({ ADMIN_TOKEN_FILE: file })), TOKEN, 'one trailing newline is ignored')
  writeFileSync(file, 'short\n')
  t.throws(() => adminToken(loadConfig({ ADMIN_TOKEN_FILE: file })), /ADMIN_TOKEN_FILE must hold at least 16 printable characters/)
  t.throws(() => adminToken(loadConfig({ ADMIN_TOKEN_FILE: join(dir, 'missing') })), /ADMIN_TOKEN_FILE cannot be read \(ENOENT\)/)
  t.throws(() => loadConfig({ ADMIN_TOKEN_FILE: file, ADMIN_TOKEN: TOKEN }), /both set/)
  t.throws(() => loadConfig({ ADMIN_TOKEN: 'too short' }), /^Error: ADMIN_TOKEN must be at least 16 printable characters|ADMIN_TOKEN must be/)
  writeFileSync(file, TOKEN)
  const host = await startHost(t, { adminTokenFile: file })
  t.equal((await admin(host).call('GET', '/stats')).status, 200)
})

t.test('list: seq order, cursor paging over more than a page, status filter; get by id and #seq', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const clients = []
  for (let i = 0; i < 7; i++) clients.push(await client(host, `s-${i}`))
  // Three of them detach.
  for (const i of [1, 3, 5]) await clients[i]!.c.close()
  const detached = await waitForStatus(a, 'detached', 3)

  const seen: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res: { status: number; body: any } = await a.call('GET', `/sessions?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.status, 200)
    t.ok(res.body.sessions.length <= 3)
    seen.push(...res.body.sessions.map((s: { seq: number }) => s.seq))
    cursor = res.body.next_cursor
    pages++
  } while (cursor !== null && pages < 10)
  t.same(seen, [1, 2, 3, 4, 5, 6, 7], 'every session once, in seq order')
  t.equal(pages, 3, 'next_cursor is null on the last page')

  t.same(
    detached.map((s: { session_id: string }) => s.session_id),
    ['s-1', 's-3', 's-5'],
    'the status filter',
  )
  const filteredPage = await a.call('GET', '/sessions?status=active&limit=2')
  t.same(
    filteredPage.body.sessions.map((s: { session_id: string }) => s.session_id),
    ['s-0', 's-2'],
  )
  const rest = await a.call('GET', `/sessions?status=active&limit=2&cursor=${filteredPage.body.next_cursor}`)
  t.same(
    rest.body.sessions.map((s: { session_id: string }) => s.session_id),
    ['s-4', 's-6'],
  )
  t.equal(rest.body.next_cursor, null)

  const byId = await a.call('GET', '/sessions/s-2')
  t.equal(byId.status, 200)
  t.same(Object.keys(byId.body).sort(), [
    'attempt',
    'auto_recovered',
    'bytes',
    'connections',
    'created_at',
    'dims',
    'history',
    'history_total',
    'last_active_at',
    'seq',
    'session_id',
    'status',
    'vectors',
  ])
  t.match(byId.body, { seq: 3, session_id: 's-2', status: 'active', connections: 1, attempt: 1, auto_recovered: false })
  const bySeq = await a.call('GET', `/sessions/${encodeURIComponent('#3')}`)
  t.same(bySeq.body, byId.body, '#seq finds the same session')
  t.same((await a.call('GET', '/sessions/nope')).body.error.code, 'not_found')
  t.same((await a.call('GET', `/sessions/${encodeURIComponent('#99')}`)).status, 404)
  for (const c of clients) await c.c.close()
})

t.test('a session view counts history and vectors and shows none of them', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const { c } = await client(host, 'full')
  await c.appendMessage('user', SECRET_CONTENT)
  await c.appendMessage('assistant', SECRET_CONTENT)
  await c.uploadVectors([
    { id: 'v1', vector: [0.25, 0.5, 0.75], metadata: { note: SECRET_META } },
    { id: 'v2', vector: [0.5, 0.5, 0.5], metadata: { note: SECRET_META } },
  ])
  const view = (await a.call('GET', '/sessions/full')).body
  t.match(view, { vectors: 2, dims: 3, bytes: 24, history: 2, history_total: 2 })
  const stats = (await a.call('GET', '/stats')).body
  t.match(stats, { sessions: { total: 1, by_status: { active: 1 } }, connections: 1, vectors: 2, bytes: 24, history_messages: 2 })
  for (const b of a.bodies) {
    t.notOk(b.includes(SECRET_CONTENT) || b.includes(SECRET_META) || b.includes('0.75'), 'no content, metadata or vector values')
    t.notOk(b.includes(c.identity.publicKey), 'not even the owner key')
  }
  // End and evict it too, so every admin log line of a session with content is in the log.
  t.equal((await a.call('POST', '/sessions/full/end')).status, 200)
  t.equal((await a.call('POST', '/sweep', { body: { idle_ms: 0 } })).status, 200)
  t.equal((await a.call('DELETE', '/sessions/full')).status, 200)
  const log = host.log.raw.join('')
  t.ok(host.log.events('admin.evict').length === 1 && host.log.events('admin.end').length === 1, 'the actions were logged')
  t.notOk(log.includes(SECRET_CONTENT) || log.includes(SECRET_META) || log.includes(TOKEN), 'no log line carries content, metadata or the token')
  await c.close()
})

t.test('end: the view says ended, every bound client hears `ended`, and the session is read-only', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const identity = generateIdentity()
  const one = await client(host, 'to-end', identity)
  const two = await client(host, 'to-end', identity)
  const heard = Promise.all([one.next(), two.next()])
  const res = await a.call('POST', '/sessions/to-end/end')
  t.equal(res.status, 200)
  t.match(res.body, { session_id: 'to-end', status: 'ended', connections: 2 })
  t.same(await heard, [
    { type: 'session_status', status: 'ended', reason: 'ended_by_operator' },
    { type: 'session_status', status: 'ended', reason: 'ended_by_operator' },
  ])
  await t.rejects(one.c.appendMessage('user', 'late'), { code: 'session_ended' })
  t.match(await one.c.sessionInfo(), { status: 'ended' }, 'reads still work under the same key')
  const again = await a.call('POST', `/sessions/${encodeURIComponent('#1')}/end`)
  t.equal(again.status, 200, 'ending an ended session answers the view again')
  t.equal(one.notices.length, 1, 'and tells nobody twice')
  t.match(host.log.events('admin.end'), [{ level: 'info', session_id: 'to-end', session_seq: 1, remote: '127.0.0.1', changed: true }, { changed: false }])
  await one.c.close()
  await two.c.close()
})

t.test('evict: clients hear `evicted` before their key is gone; the session and its data are dropped', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const victim = await client(host, 'victim')
  await victim.c.appendMessage('user', 'x')
  const bystander = await client(host, 'bystander')
  const heard = victim.next()
  const res = await a.call('DELETE', '/sessions/victim')
  t.same(res, { status: 200, body: { dropped: 1 }, headers: res.headers })
  t.same(await heard, { type: 'session_status', status: 'evicted', reason: 'evicted_by_operator' })
  t.equal(host.server.ctx.sessions.get('victim'), undefined)
  await t.rejects(victim.c.sessionInfo(), { code: 'no_session' }, 'the key is gone with the session')
  t.equal((await a.call('GET', '/sessions/victim')).status, 404)
  t.equal((await a.call('DELETE', '/sessions/victim')).status, 404, 'a second evict finds nothing')
  t.equal(bystander.notices.length, 0, 'other sessions hear nothing')
  t.match(await bystander.c.sessionInfo(), { status: 'active' })
  const info = await victim.c.openSession('victim')
  t.equal(info.created, true, 'an init afterwards creates a new, empty session')
  t.match(host.log.events('admin.evict'), [{ session_id: 'victim', session_seq: 1, dropped: true, connections: 1 }])
  await victim.c.close()
  await bystander.c.close()
})

t.test('sweep: only detached sessions idle longer than idle_ms become abandoned (auto_recovered)', async (t) => {
  let clock = Date.now()
  const host = await startHost(t, { adminToken: TOKEN }, { now: () => clock })
  const a = admin(host)
  const old = await client(host, 'old')
  const recent = await client(host, 'recent')
  const live = await client(host, 'live')
  const ended = await client(host, 'ended')
  await ended.c.endSession()
  await old.c.close()
  await waitForStatus(a, 'detached', 1)
  clock += 60_000
  await recent.c.close()
  await ended.c.close()
  await waitForStatus(a, 'detached', 2)
  clock += 10_000
  live.c.ping().catch(() => undefined)

  const res = await a.call('POST', '/sweep', { body: { idle_ms: 30_000 } })
  t.equal(res.status, 200)
  t.same(res.body, { abandoned: [{ seq: 1, session_id: 'old', idle_ms: 70_000 }] })
  const views = Object.fromEntries((await a.call('GET', '/sessions')).body.sessions.map((s: { session_id: string }) => [s.session_id, s]))
  t.match(views, {
    old: { status: 'abandoned', auto_recovered: true },
    recent: { status: 'detached', auto_recovered: false },
    live: { status: 'active', auto_recovered: false },
    ended: { status: 'ended' },
  })
  t.same((await a.call('POST', '/sweep', { body: { idle_ms: 30_000 } })).body, { abandoned: [] }, 'a second sweep finds nothing')
  t.same(
    (await a.call('POST', '/sweep', { body: { idle_ms: 0 } })).body.abandoned.map((r: { session_id: string }) => r.session_id),
    ['recent'],
  )
  t.match(host.log.events('admin.sweep')[0], { idle_ms: 30_000, abandoned: 1, session_seqs: [1] })
  // An abandoned session's owner can come back to it, its data kept.
  const back = await client(host, 'old', old.c.identity)
  t.match(await back.c.sessionInfo(), { status: 'active', auto_recovered: true })
  await back.c.close()
  await live.c.close()
})

t.test('reset: every client hears `evicted`, every session is dropped', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const clients = [await client(host, 'r1'), await client(host, 'r2'), await client(host, 'r3')]
  await clients[2]!.c.close()
  await waitForStatus(a, 'detached', 1)
  const heard = Promise.all(clients.slice(0, 2).map((c) => c.next()))
  const res = await a.call('POST', '/reset')
  t.same(res.body, { dropped: 3 })
  t.same(await heard, [
    { type: 'session_status', status: 'evicted', reason: 'host_reset' },
    { type: 'session_status', status: 'evicted', reason: 'host_reset' },
  ])
  t.equal(host.server.ctx.sessions.size, 0)
  t.match((await a.call('GET', '/stats')).body, { sessions: { total: 0 }, connections: 2 }, 'connections stay open')
  t.same((await a.call('POST', '/reset')).body, { dropped: 0 })
  t.match(host.log.events('admin.reset'), [{ dropped: 3, connections: 2 }, { dropped: 0 }])
  for (const c of clients) await c.c.close()
})

t.test('stats move with the host', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const before = (await a.call('GET', '/stats')).body
  t.match(before, {
    version: /^\d+\.\d+\.\d+/,
    ready: true,
    sessions: { total: 0, capacity: 1000, by_status: { active: 0, detached: 0, abandoned: 0, ended: 0 } },
    connections: 0,
    vectors: 0,
    bytes: 0,
    history_messages: 0,
    event_loop: { p50_ms: Number, p99_ms: Number, max_ms: Number },
    memory: { rss_bytes: Number, heap_used_bytes: Number },
    journal: { enabled: true, healthy: true },
  })
  t.type(before.uptime_s, 'number')
  const one = await client(host, 'a')
  const two = await client(host, 'b')
  await one.c.appendMessage('user', 'hi')
  await one.c.uploadVectors([{ id: 'v', vector: [1, 2] }])
  await two.c.close()
  await waitForStatus(a, 'detached', 1)
  t.match((await a.call('GET', '/stats')).body, {
    sessions: { total: 2, by_status: { active: 1, detached: 1 } },
    connections: 1,
    vectors: 1,
    bytes: 8,
    history_messages: 1,
  })
  await one.c.close()
})

t.test('bad input answers 400 {error: {code, message}} and changes nothing', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const one = await client(host, 'keep')
  await one.c.close()
  await waitForStatus(a, 'detached', 1)
  const state = (): unknown => [...host.server.ctx.sessions.values()].map((s) => [s.id, s.status, s.autoRecovered])
  const before = state()
  const cases: [string, string, Parameters<Admin['call']>[2]?][] = [
    ['GET', '/sessions?cursor=not-a-cursor'],
    ['GET', `/sessions?cursor=${Buffer.from('s:abc').toString('base64url')}`],
    ['GET', '/sessions?status=stuck'],
    ['GET', '/sessions?limit=0'],
    ['GET', '/sessions?limit=501'],
    ['GET', '/sessions?limit=ten'],
    ['GET', '/sessions?colour=red'],
    ['GET', `/sessions/${encodeURIComponent('#one')}`],
    ['GET', `/sessions/${encodeURIComponent('#')}`],
    ['GET', `/sessions/${encodeURIComponent('#-1')}`],
    ['GET', `/sessions/${encodeURIComponent('not a session id')}`],
    ['POST', `/sessions/${encodeURIComponent('#x')}/end`],
    ['DELETE', `/sessions/${encodeURIComponent('#0')}`],
    ['POST', '/sweep'],
    ['POST', '/sweep', { body: {} }],
    ['POST', '/sweep', { body: { idle_ms: -1 } }],
    ['POST', '/sweep', { body: { idle_ms: 1.5 } }],
    ['POST', '/sweep', { body: { idle_ms: 'soon' } }],
    ['POST', '/sweep', { body: [0] }],
    ['POST', '/sweep', { raw: '{"idle_ms": 0' }],
    ['POST', '/sweep', { raw: 'idle_ms=0', contentType: 'application/x-www-form-urlencoded' }],
    ['POST', '/sweep', { raw: '', contentType: 'application/json' }],
    // Written as it is meant: no coercion, nothing dropped.
    ['POST', '/sweep', { body: { idle_ms: null } }],
    ['POST', '/sweep', { body: { idle_ms: true } }],
    ['POST', '/sweep', { body: { idle_ms: '5' } }],
    ['POST', '/sweep', { body: { idle_ms: [6] } }],
    ['POST', '/sweep', { body: { idle_ms: 5, dry_run: true } }],
    ['POST', '/sweep', { raw: 'null' }],
    ['GET', '/sessions?limit=0x2'],
    ['GET', '/sessions?limit=1e1'],
    ['GET', '/sessions?limit=%201'],
    ['GET', '/sessions?limit=1.5'],
    ['GET', '/sessions?limit=2&limit=3'],
    ['GET', '/sessions?cursor='],
    // Bodies are JSON, even where none is read.
    ['POST', '/reset', { raw: 'garbage', contentType: 'text/plain' }],
    ['POST', '/sessions/keep/end', { raw: 'garbage', contentType: 'text/plain' }],
    ['DELETE', '/sessions/keep', { raw: '<x/>', contentType: 'application/xml' }],
  ]
  for (const [method, path, opts] of cases) {
    const res = await a.call(method, path, opts)
    t.equal(res.status, 400, `${method} ${path} ${opts?.raw ?? JSON.stringify(opts?.body ?? '')}`)
    t.equal(res.body?.error?.code, 'bad_request')
    t.type(res.body?.error?.message, 'string')
  }
  t.same(state(), before, 'nothing changed')
  t.same(
    host.log.lines.filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    'no error-level line for bad input',
  )
  t.equal((await a.call('GET', '/nothing-here')).body.error.code, 'not_found')
})

t.test('admin actions are journaled: a restart keeps them', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-admin-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const secretKey = nacl.box.keyPair().secretKey
  let clock = Date.now()
  const host = await startHost(t, { adminToken: TOKEN }, { dataDir, secretKey, now: () => clock })
  const a = admin(host)
  const clients = [await client(host, 'ended'), await client(host, 'evicted'), await client(host, 'stuck'), await client(host, 'untouched')]
  await clients[2]!.c.close()
  await waitForStatus(a, 'detached', 1)
  clock += 5000
  t.equal((await a.call('POST', '/sessions/ended/end')).status, 200)
  t.equal((await a.call('DELETE', '/sessions/evicted')).status, 200)
  t.equal((await a.call('POST', '/sweep', { body: { idle_ms: 1000 } })).body.abandoned.length, 1)
  for (const c of clients) await c.c.close()
  await host.close()

  const again = await startHost(t, { adminToken: TOKEN }, { dataDir, secretKey, now: () => clock })
  const views = Object.fromEntries((await admin(again).call('GET', '/sessions')).body.sessions.map((s: { session_id: string }) => [s.session_id, s]))
  t.same(Object.keys(views).sort(), ['ended', 'stuck', 'untouched'], 'the evicted session stays dropped')
  t.match(views, { ended: { status: 'ended' }, stuck: { status: 'abandoned', auto_recovered: true }, untouched: { status: 'detached' } })
})

/** Polls the list until `n` sessions have `status` (a close reaches the host a moment after the client's). */
async function waitForStatus(a: Admin, status: string, n: number): Promise<any[]> {
  const deadline = Date.now() + 5000
  for (;;) {
    const res = await a.call('GET', `/sessions?status=${status}`)
    if (res.body.sessions.length === n) return res.body.sessions
    if (Date.now() > deadline) throw new Error(`waited for ${n} ${status} sessions, have ${res.body.sessions.length}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('a session id of the longest allowed length can be named in the path', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN })
  const a = admin(host)
  const id = 'L'.repeat(128)
  const { c } = await client(host, id)
  t.match((await a.call('GET', `/sessions/${id}`)).body, { session_id: id, seq: 1 })
  t.same((await a.call('DELETE', `/sessions/${id}`)).body, { dropped: 1 })
  t.equal((await a.call('GET', `/sessions/${'L'.repeat(129)}`)).body.error.code, 'bad_request', 'one longer is no session id')
  await c.close()
})

t.test('the HTTP rate limit counts requests without a valid token too (guessing is limited)', async (t) => {
  const host = await startHost(t, { adminToken: TOKEN, httpRateLimitMax: 3 })
  const a = admin(host)
  const statuses = []
  for (let i = 0; i < 6; i++) statuses.push((await a.call('GET', '/stats', { token: `wrong-token-${i}-0123456789` })).status)
  t.same(statuses, [401, 401, 401, 429, 429, 429])
  t.equal(host.log.events('admin.unauthorized').length, 3, 'and past the limit nothing is logged per guess')
})

t.test('a journal that cannot write: 503 unavailable with Retry-After, nothing changed, the refusal logged', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-admin-full-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const host = await startHost(t, { adminToken: TOKEN, journalRetryMs: 60_000 }, { dataDir })
  const a = admin(host)
  const { c, notices } = await client(host, 'held')
  // Every segment the writer may open next is the full disk; a snapshot rotates to the first of them now.
  for (let i = 0; i < 500; i++) symlinkSync('/dev/full', join(dataDir, 'journal', segmentName(i + 2)))
  await (host.server.ctx.journal as unknown as { snapshot(): Promise<void> }).snapshot()
  await host.log.waitFor('journal.failed')
  for (const [method, path, body] of [
    ['POST', '/sessions/held/end', undefined],
    ['DELETE', '/sessions/held', undefined],
    ['POST', '/reset', undefined],
  ] as const) {
    const res = await a.call(method, path, body)
    t.equal(res.status, 503, `${method} ${path}`)
    t.equal(res.body.error.code, 'unavailable')
    t.equal(res.headers.get('retry-after'), '60')
  }
  t.match(host.server.ctx.sessions.get('held'), { status: 'active' }, 'the session is as it was')
  t.same(notices, [], 'and its client heard nothing')
  t.match(host.log.events('admin.end'), [{ outcome: 'unavailable', session_id: 'held' }])
  t.match(host.log.events('admin.reset'), [{ outcome: 'unavailable' }])
  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_admin_actions_total\{action="evict",outcome="unavailable"\} 1/)
  await c.close()
})
