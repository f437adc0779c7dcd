// A journal that cannot write: the change is refused as a retryable
// `internal` and not applied (memory and disk agree), the host reports not
// ready, logs journal.failed once, probes until the disk takes writes again,
// and then goes on in a fresh segment. The disk here is /dev/full (ENOSPC on
// every write) behind the name of the next segment.
import t from 'tap'
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { segmentName } from '../../src/journal/layout.js'
import { startHost } from '../helpers/host.js'
import { buildSessionInit } from '@rag-session-host/client'
import { Wire, generateIdentity, tryUpgrade } from '../helpers/wire.js'

t.test('ENOSPC: refused with a retryable internal, nothing applied, not ready; then writable again and durable', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-full-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const secretKey = nacl.box.keyPair().secretKey
  const journal = join(dataDir, 'journal')
  const host = await startHost(t, { journalRetryMs: 50 }, { dataDir, secretKey })
  const identity = generateIdentity()
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 's', identity })
  await w.request('appendMessage', { role: 'user', content: 'kept' })
  t.equal((await fetch(`${host.url}/ready`)).status, 200)

  // Every segment the writer may open next is the full disk; a snapshot rotates to the first of them now.
  const full = Array.from({ length: 500 }, (_, i) => join(journal, segmentName(i + 2)))
  for (const path of full) symlinkSync('/dev/full', path)
  const snapshot = (host.server.ctx.journal as unknown as { snapshot(): Promise<void> }).snapshot()
  await snapshot
  const failed = await host.log.waitFor('journal.failed')
  t.match(failed, { level: 'error', err: { code: 'ENOSPC' } })

  const refused = await w.request('appendMessage', { role: 'user', content: 'refused' })
  t.match(refused.error, { code: 'internal', retryable: true, retry_after_ms: 50 })
  t.match(refused.error.message, /journal; it was not applied/)
  t.same(
    host.server.ctx.sessions
      .get('s')!
      .history.all()
      .map((m) => m.content),
    ['kept'],
    'a refused change is not in memory either',
  )
  const up = await w.request('uploadVectors', { vectors: [{ id: 'v', vector: [1, 0] }] })
  t.equal(up.error?.code, 'internal')
  t.equal(host.server.ctx.sessions.get('s')!.vectors.count, 0)
  // An init that would create a session, on this connection: refused, and the connection keeps its session, key and counter (§2.2).
  const newcomer = generateIdentity()
  const built = buildSessionInit({ hostPublicKey: host.hostPublicKey, requestId: 'init-new', sessionId: 'new', identity: newcomer })
  w.send(built.frame)
  t.match((await w.reply('init-new')).error, { code: 'internal', retryable: true }, 'an init that would create a session is refused too')
  t.equal(host.server.ctx.sessions.get('new'), undefined, 'and the session does not exist')
  t.ok(host.server.ctx.sessions.get('s')!.connections.size === 1, 'the connection is still bound to its session')
  t.match(await w.request('sessionInfo'), { ok: true, session_id: 's' }, 'and its key and counter still work')
  const ready = await fetch(`${host.url}/ready`)
  t.equal(ready.status, 503, 'not ready: the balancer sends clients elsewhere')
  t.equal((await tryUpgrade(host.wsUrl)).status, 503, 'and new sockets are refused meanwhile')
  t.equal(host.log.events('journal.failed').length, 1, 'logged once, not per refused request')
  t.ok(
    host.log.events('request.failed').every((l) => l.level !== 'error'),
    'refusals are not host errors on top of journal.failed',
  )

  // The disk takes writes again: the probe finds out without any client asking.
  for (const path of full) rmSync(path, { force: true })
  const writable = await host.log.waitFor('journal.writable')
  t.ok((writable.segment as number) > 2, 'in a fresh segment')
  t.equal((await fetch(`${host.url}/ready`)).status, 200, 'ready again')
  const ok = await w.request('appendMessage', { role: 'user', content: 'after' })
  t.equal(ok.ok, true)
  t.equal(ok.seq, 2, 'the refused append took no seq')
  const other = await Wire.open(host.wsUrl, host.hostPublicKey)
  other.send(built.frame)
  t.match(await other.reply('init-new'), { ok: true }, 'the refused init frame was never accepted: sent again, it is not a replay')
  const image = mkdtempSync(join(tmpdir(), 'rsh-full-image-'))
  t.teardown(() => rmSync(image, { recursive: true, force: true }))
  cpSync(dataDir, image, { recursive: true })
  await Promise.all([w.close(), other.close()])
  await host.close()

  const restarted = await startHost(t, {}, { dataDir: image, secretKey })
  t.same(
    restarted.server.ctx.sessions
      .get('s')!
      .history.all()
      .map((m) => m.content),
    ['kept', 'after'],
    'after a crash: what was acknowledged, and nothing that was refused',
  )
  t.ok(restarted.server.ctx.sessions.get('new'))
  t.equal(restarted.log.events('journal.corrupt').length, 0)
  t.ok(readdirSync(join(image, 'journal')).length > 0)
})

t.test('a journal that fails while the host is idle is found by the probe, and /ready says so', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-full-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const host = await startHost(t, { journalRetryMs: 20 }, { dataDir })
  // Nothing written yet: the first segment is the full disk.
  symlinkSync('/dev/full', join(dataDir, 'journal', segmentName(1)))
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  const init = await w.init({ sessionId: 's', identity: generateIdentity() })
  t.match(init.ack.error, { code: 'internal', retryable: true })
  await host.log.waitFor('journal.failed')
  t.equal((await fetch(`${host.url}/ready`)).status, 503)
  const health = await fetch(`${host.url}/health`)
  t.equal(health.status, 200, 'alive: a restart would not help')
  // No client writes again; the probe alone finds the disk writable (a drained host gets no traffic to try with).
  unlinkSync(join(dataDir, 'journal', segmentName(1)))
  await host.log.waitFor('journal.writable')
  t.equal((await fetch(`${host.url}/ready`)).status, 200)
  t.equal((await w.init({ sessionId: 's', identity: generateIdentity() })).info?.created, true)
})
