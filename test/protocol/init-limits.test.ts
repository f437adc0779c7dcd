// The host's limits on inits, each answered in the contract's typed way with
// the init's request id (PROTOCOL.md §8.1): connections bound to one session
// (limit_exceeded), live sessions per client address (limit_exceeded), inits
// per client address per minute (rate_limited with retry_after_ms). None of
// them loses anything: the refused connection keeps what it had.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { startHost, type TestHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const from = (host: TestHost, address: string): Promise<Wire> => Wire.open(host.wsUrl, host.hostPublicKey, { headers: { 'x-forwarded-for': address } })

t.test('MAX_CONNECTIONS_PER_SESSION: one more binding is limit_exceeded; a re-init of a bound one is not', async (t) => {
  const host = await startHost(t, { maxConnectionsPerSession: 2 })
  const identity = generateIdentity()
  const a = await Wire.open(host.wsUrl, host.hostPublicKey)
  const b = await Wire.open(host.wsUrl, host.hostPublicKey)
  const c = await Wire.open(host.wsUrl, host.hostPublicKey)
  t.ok((await a.init({ sessionId: 's', identity })).ack.ok)
  t.ok((await b.init({ sessionId: 's', identity })).ack.ok)
  await a.request('appendMessage', { role: 'user', content: 'kept' })

  const refused = await c.init({ sessionId: 's', identity, requestId: 'third' })
  t.match(refused.ack, { type: 'session_init_ack', id: 'third', ok: false, error: { code: 'limit_exceeded', retryable: false } })
  t.match(refused.ack.error.message, /2 connections bound/)
  t.match(host.log.events('init.rejected').at(-1), { code: 'limit_exceeded', req_id: 'third', session_id: 's' })
  t.ok((await a.init({ sessionId: 's', identity })).ack.ok, 'a bound connection may re-init (rotate its key)')
  t.equal(host.server.ctx.sessions.get('s')!.connections.size, 2)

  // c is still free to open another session of its own.
  t.ok((await c.init({ sessionId: 'other', identity })).ack.ok)
  await b.close()
  await host.log.waitFor('connection.closed')
  const d = await Wire.open(host.wsUrl, host.hostPublicKey)
  t.ok((await d.init({ sessionId: 's', identity })).ack.ok, 'room again once one left')
  t.match(await d.request('getHistory'), { ok: true, messages: [{ content: 'kept' }] }, 'nothing lost')
  for (const w of [a, c, d]) await w.close()
})

t.test('MAX_SESSIONS_PER_IP: live sessions per client address; ended ones do not count; journaled', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-limits-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const secretKey = nacl.box.keyPair().secretKey
  const settings = { maxSessionsPerIp: 2, trustProxy: true }
  const host = await startHost(t, settings, { dataDir, secretKey })
  const identity = generateIdentity()
  const w = await from(host, '203.0.113.7')
  t.ok((await w.init({ sessionId: 'one', identity })).ack.ok)
  t.ok((await w.init({ sessionId: 'two', identity })).ack.ok)
  await w.request('appendMessage', { role: 'user', content: 'in two' })
  const refused = await w.init({ sessionId: 'three', identity, requestId: 'too-many' })
  t.match(refused.ack, { id: 'too-many', ok: false, error: { code: 'limit_exceeded', retryable: false } })
  t.match(refused.ack.error.message, /holds 2 live sessions/)
  t.equal(host.server.ctx.sessions.get('three'), undefined, 'not created')
  t.match(await w.request('getHistory'), { ok: true, messages: [{ content: 'in two' }] }, 'the connection keeps its session and key')
  t.ok((await w.init({ sessionId: 'one', identity })).ack.ok, 'an existing session may always be re-opened')

  const elsewhere = await from(host, '198.51.100.9')
  t.ok((await elsewhere.init({ sessionId: 'three', identity })).ack.ok, 'another address has its own count')

  // Ending a session frees its place: ended sessions can be reclaimed, live ones cannot.
  t.match(await w.request('endSession'), { ok: true })
  t.ok((await w.init({ sessionId: 'four', identity })).ack.ok)
  t.match((await w.init({ sessionId: 'five', identity })).ack.error, { code: 'limit_exceeded' })
  await w.close()
  await elsewhere.close()
  await host.close()

  // After a restart the sessions are detached, still live, still counted for their address.
  const again = await startHost(t, settings, { dataDir, secretKey })
  t.equal(again.server.ctx.sessions.liveSessionsOf('203.0.113.7'), 2)
  const back = await from(again, '203.0.113.7')
  t.match((await back.init({ sessionId: 'five', identity })).ack.error, { code: 'limit_exceeded' })
  t.ok((await back.init({ sessionId: 'four', identity })).ack.ok)
  await back.close()
})

t.test('INIT_RATE_PER_IP: inits per minute per address answer rate_limited with retry_after_ms', async (t) => {
  let clock = Date.now()
  const host = await startHost(t, { initRatePerIp: 3, trustProxy: true }, { now: () => clock })
  const identity = generateIdentity()
  const w = await from(host, '192.0.2.1')
  for (let i = 0; i < 3; i++) t.ok((await w.init({ sessionId: 'r', identity })).ack.ok, `init ${i + 1}`)
  await w.request('appendMessage', { role: 'user', content: 'before' })
  const limited = await w.init({ sessionId: 'r', identity, requestId: 'fourth' })
  t.match(limited.ack, { id: 'fourth', ok: false, error: { code: 'rate_limited', retryable: true } })
  // Three a minute: one token every 20 s.
  t.equal(limited.ack.error.retry_after_ms, 20_000)
  t.match(host.log.events('init.rejected').at(-1), { code: 'rate_limited', req_id: 'fourth', level: 'info' })
  t.match(await w.request('getHistory'), { ok: true, messages: [{ content: 'before' }] }, 'the old key still works')

  const other = await from(host, '192.0.2.2')
  t.ok((await other.init({ sessionId: 'r2', identity })).ack.ok, 'another address is not held back')
  // Even junk counts: the limit is taken before any crypto.
  const junk = { type: 'encrypted_session_init', id: 'junk', session_id: 'r', eph_pub: 'x', nonce: 'y', ciphertext: 'z' }
  w.send(junk)
  t.match(await w.reply('junk'), { ok: false, error: { code: 'rate_limited' } })
  clock += 20_000
  t.ok((await w.init({ sessionId: 'r', identity })).ack.ok, 'a token is back 20 s later')
  t.same(
    host.log.lines.filter((l) => l.level === 'error'),
    [],
    'no error-level line',
  )
  await w.close()
  await other.close()
})
