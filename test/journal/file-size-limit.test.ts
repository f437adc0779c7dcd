// A write that half lands: the host runs under a file-size limit (prlimit --fsize),
// so a journal segment fills up in the middle of a batch: part of the batch is
// on disk, the rest fails with EFBIG. The batch is refused as a whole, the
// segment is given up, and the next one records how many of its records count,
// so the half-written batch is never replayed. After a SIGKILL and a restart
// without the limit, the history is exactly what was acknowledged.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { DurableHome } from '../helpers/host-process.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const LIMIT_BYTES = 8192 // a few dozen messages a segment

t.test('EFBIG mid-batch: refused whole, never replayed; the host writes on in a fresh segment', async (t) => {
  const home = new DurableHome(t)
  const host = await home.start({ env: { JOURNAL_RETRY_MS: '60000' } })
  const identity = generateIdentity()
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 's', identity })
  // The limit goes on once the host runs (prlimit, util-linux): only the journal's files reach it.
  execFileSync('prlimit', [`--pid=${host.pid}`, `--fsize=${LIMIT_BYTES}:${LIMIT_BYTES}`])

  const acked: string[] = []
  const ackedSeqs: number[] = []
  let refused = 0
  // Pairs of appends in one turn share a batch, so a limit can fall between their records.
  for (let i = 0; acked.length < 120 && i < 400; i += 2) {
    const pair = [`m${i} ${'x'.repeat(100)}`, `m${i + 1} ${'y'.repeat(100)}`]
    const frames = pair.map((content) => w.seal('appendMessage', { role: 'user', content }))
    for (const f of frames) w.send(f)
    const replies = await Promise.all(frames.map(async (f) => w.open(await w.reply(f.id))))
    replies.forEach((r, k) => {
      if (r.ok) {
        acked.push(pair[k]!)
        ackedSeqs.push(r.seq)
      } else {
        t.match(r.error, { code: 'internal', retryable: true }, 'a refused append is a retryable internal')
        refused++
      }
    })
  }
  t.ok(refused > 0, `the limit was hit (${refused} appends refused)`)
  const failed = await host.waitFor('journal.failed')
  t.match(failed, { level: 'error', err: { code: 'EFBIG' } })
  t.ok(host.events('journal.writable').length > 0, 'and it wrote again, in a fresh segment, without waiting for the probe')
  const seqs = (await w.request('getHistory', { attempt: 'all' })).messages.map((m: { content: string }) => m.content)
  t.same(seqs, acked, 'memory holds exactly the acknowledged appends')

  host.killGroup('SIGKILL')
  await host.exited
  const after = await home.start()
  const r = await Wire.open(after.wsUrl, after.hostPublicKey)
  await r.init({ sessionId: 's', identity })
  const history = (await r.request('getHistory', { attempt: 'all' })).messages as { seq: number; content: string }[]
  t.same(
    history.map((m) => m.content),
    acked,
    'after the crash: every acknowledged append, in order, none of the refused ones',
  )
  t.same(
    history.map((m) => m.seq),
    ackedSeqs,
    'with the seq each was acknowledged with',
  )
  t.equal(after.events('journal.corrupt').length, 0, 'a given-up segment is not damage')
  await Promise.all([w.close(), r.close()])
})
