// SecretboxOffload on its real worker thread: big payloads go to the worker
// and come back byte for byte, small ones stay inline; when the worker dies,
// every pending open, seal and preopen rejects, and the next call starts a new
// worker that works.
import t, { type Test } from 'tap'
import { startedWorkers } from '../helpers/workers.js'
import nacl from 'tweetnacl'
import { decodeBase64, encodeBase64 } from '@rag-session-host/client/shared'
import { SecretboxOffload } from '../../src/crypto/secretbox.js'

const OFFLOAD = 1024
const key = nacl.randomBytes(32)
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

function offload(t: Test): SecretboxOffload {
  const box = new SecretboxOffload(OFFLOAD)
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
  const workers = startedWorkers(t, 'secretbox')
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

t.test('the worker dying rejects pending opens, seals and preopens; the next call starts a new worker', async (t) => {
  const workers = startedWorkers(t, 'secretbox')
  const box = offload(t)
  const big = bytes(300_000, 3)
  t.same(openDirect(await box.seal(big, key)), big)
  const first = workers[0]!
  const exited = new Promise<number>((resolve) => first.once('exit', resolve))
  void first.terminate()
  // Posted after terminate(): the dying thread never runs them.
  const sealed = sealDirect(big)
  const frame = new TextEncoder().encode(JSON.stringify({ type: 'ping', id: 'p', pad: 'x'.repeat(OFFLOAD) }))
  const pending = await Promise.allSettled([box.seal(big, key), box.open(sealed.ciphertext, sealed.nonce, key), box.preopen(frame, 's', key)])
  t.same(
    pending.map((p) => (p.status === 'rejected' ? (p.reason as Error).message : 'resolved')),
    Array(3).fill('secretbox worker exited with code 1'),
    'every pending call rejects',
  )
  t.equal(await exited, 1)
  // Below the threshold nothing needs a worker.
  const small = bytes(10, 4)
  t.same(openDirect(await box.seal(small, key)), small)
  t.equal(workers.length, 1)
  const again = await box.seal(big, key)
  t.same(openDirect(again), big, 'the next big call works')
  t.equal(workers.length, 2, 'on a new worker')
  t.not(workers[1]!.threadId, first.threadId)
  t.same(await box.open(sealed.ciphertext, sealed.nonce, key), { ok: true, plaintext: big })
  t.match(await box.preopen(frame, 's', key), { kind: 'frame', frame: { type: 'ping', id: 'p' } })
})

t.test('close rejects calls in flight; a later call starts the worker again', async (t) => {
  const workers = startedWorkers(t, 'secretbox')
  const box = offload(t)
  const big = bytes(100_000, 5)
  const inFlight = t.rejects(box.seal(big, key), { message: 'secretbox worker closed' })
  await box.close()
  await inFlight
  t.same(openDirect(await box.seal(big, key)), big)
  t.equal(workers.length, 2)
})
