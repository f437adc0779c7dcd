// FrameOffload on its real worker thread: big payloads go to the worker
// and come back byte for byte, small ones stay inline; when the worker dies,
// every pending open, seal and preopen rejects, and the next call starts a new
// worker that works.
import t, { type Test } from 'tap'
import { startedWorkers } from '../helpers/workers.js'
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64 } from '@rag-session-host/client/shared'
import { FrameOffload } from '../../src/dispatch/frame-offload.js'

const OFFLOAD = 1024
const LIMITS = { maxBatch: 1000, maxDims: 4096, maxMetadataBytes: 10240 }
const key = nacl.randomBytes(32)
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

function offload(t: Test): FrameOffload {
  const box = new FrameOffload(OFFLOAD)
  t.teardown(() => box.close())
  return box
}

/** What nacl itself makes of a sealed result. */
const openDirect = (sealed: { nonce: string; ciphertext: string }): Uint8Array | null => nacl.secretbox.open(decodeBase64(sealed.ciphertext)!, decodeBase64(sealed.nonce)!, key)

function sealDirect(plaintext: Uint8Array): { nonce: Uint8Array; ciphertext: string } {
  const nonce = nacl.randomBytes(24)
  return { nonce, ciphertext: encodeBase64(nacl.secretbox(plaintext, nonce, key)) }
}

t.test('big seals and opens run on the worker, small ones inline, with the same bytes', async (t) => {
  const workers = startedWorkers(t, 'frame')
  const box = offload(t)
  const small = bytes(OFFLOAD - 1, 1)
  t.same(openDirect(await box.seal(small, key)), small)
  t.equal(workers.length, 0, 'below the threshold no worker starts')
  const big = bytes(200_000, 2)
  t.same(openDirect(await box.seal(big, key)), big)
  t.equal(workers.length, 1, 'a big seal started the worker')
  const sealed = sealDirect(big)
  t.same(await box.open(sealed.ciphertext, sealed.nonce, key), { ok: true, plaintext: big })
  t.same(await box.open(sealed.ciphertext, sealed.nonce, nacl.randomBytes(32)), { ok: false, reason: 'failed' })
  t.equal(workers.length, 1, 'one worker for all of them')
})

t.test('the worker dying rejects the calls it held; those still queued and the next calls run on a new worker', async (t) => {
  const workers = startedWorkers(t, 'frame')
  const box = offload(t)
  const big = bytes(300_000, 3)
  t.same(openDirect(await box.seal(big, key)), big)
  const first = workers[0]!
  const exited = new Promise<number>((resolve) => first.once('exit', resolve))
  void first.terminate()
  // Posted after terminate(): the dying thread never runs them.
  const sealed = sealDirect(big)
  const frame = new TextEncoder().encode(JSON.stringify({ type: 'ping', id: 'p', pad: 'x'.repeat(OFFLOAD) }))
  const pending = await Promise.allSettled([box.seal(big, key), box.open(sealed.ciphertext, sealed.nonce, key), box.preopen(frame, 's', key, LIMITS)])
  t.same(
    pending.map((p) => (p.status === 'rejected' ? (p.reason as Error).message : 'resolved')),
    ['frame worker exited with code 1', 'frame worker exited with code 1', 'resolved'],
    'the two calls handed to the dying worker reject; the one still queued here runs on the next worker',
  )
  t.equal(await exited, 1)
  t.equal(workers.length, 2)
  // Below the threshold nothing needs a worker.
  const small = bytes(10, 4)
  t.same(openDirect(await box.seal(small, key)), small)
  t.equal(workers.length, 2)
  const again = await box.seal(big, key)
  t.same(openDirect(again), big, 'the next big call works')
  t.equal(workers.length, 2, 'on the new worker')
  t.not(workers[1]!.threadId, first.threadId)
  t.same(await box.open(sealed.ciphertext, sealed.nonce, key), { ok: true, plaintext: big })
  t.match(await box.preopen(frame, 's', key, LIMITS), { kind: 'frame', frame: { type: 'ping', id: 'p' } })
})

t.test('close rejects calls in flight; a later call starts the worker again', async (t) => {
  const workers = startedWorkers(t, 'frame')
  const box = offload(t)
  const big = bytes(100_000, 5)
  const inFlight = t.rejects(box.seal(big, key), { message: 'frame worker closed' })
  await box.close()
  await inFlight
  t.same(openDirect(await box.seal(big, key)), big)
  t.equal(workers.length, 2)
})

t.test("the worker serves connections fairly: one's small job overtakes another's queued backlog of big ones", async (t) => {
  const box = offload(t)
  const big = bytes(1_000_000, 6)
  const small = bytes(2 * OFFLOAD, 7)
  const order: string[] = []
  const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name))
  // Uploader: six big seals at once (two go to the worker, four wait here); then the other connection's one.
  const all = [1, 2, 3, 4, 5, 6].map((i) => track(`big${i}`, box.seal(big, key, 'uploader')))
  t.equal(box.queued, 4, 'two handed to the worker, the rest queued')
  all.push(track('small', box.seal(small, key, 'searcher')))
  await Promise.all(all)
  // big1 and big2 were the worker's already; small goes next, before the four still queued.
  t.same(order, ['big1', 'big2', 'small', 'big3', 'big4', 'big5', 'big6'])

  // Without a lane every job shares one: first come, first served.
  order.length = 0
  const fifo = [1, 2, 3, 4].map((i) => track(`big${i}`, box.seal(big, key)))
  fifo.push(track('small', box.seal(small, key)))
  await Promise.all(fifo)
  t.same(order, ['big1', 'big2', 'big3', 'big4', 'small'], 'one lane is FIFO')
})
