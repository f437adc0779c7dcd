import t from 'tap'
import { decodeBase64, encodeBase64, decodeUtf8, counterNonce, nonceCounter, randomNonce } from '@rag-session-host/client/shared'

t.test('strict standard base64 with padding', async (t) => {
  t.same(decodeBase64('AAEC'), new Uint8Array([0, 1, 2]))
  t.same(decodeBase64('AAE='), new Uint8Array([0, 1]))
  t.same(decodeBase64(''), new Uint8Array([]))
  for (const bad of ['AAE', 'AA E=', 'AA-_', 'AA==AA==', '@@@@', 'AAE=\n', 'AAF=', 12, null, undefined]) {
    t.equal(decodeBase64(bad), undefined, `refuses ${JSON.stringify(bad)}`)
  }
  t.equal(decodeBase64(encodeBase64(new Uint8Array(32)), 32)?.length, 32)
  t.equal(decodeBase64(encodeBase64(new Uint8Array(31)), 32), undefined, 'wrong length')
})

t.test('utf-8 decoding refuses invalid bytes', async (t) => {
  t.equal(decodeUtf8(new Uint8Array([0xff, 0xfe])), undefined)
  t.equal(decodeUtf8(Buffer.from('héllo')), 'héllo')
})

t.test('counter nonces carry a big-endian uint64 in bytes 16-23', async (t) => {
  const n = counterNonce(0x0102030405060708n)
  t.equal(n.length, 24)
  t.same([...n.subarray(16)], [1, 2, 3, 4, 5, 6, 7, 8])
  t.equal(nonceCounter(n), 0x0102030405060708n)
  t.equal(nonceCounter(counterNonce(2n ** 64n - 1n)), 2n ** 64n - 1n)
})

t.test('nonces drawn from the pool are 24 bytes and never repeat, across many refills', async (t) => {
  const seen = new Set<string>()
  // 4 096-byte pool: 24-byte nonces and 16-byte counter prefixes refill it hundreds of times here.
  for (let i = 0; i < 20_000; i++) {
    const r = randomNonce()
    if (r.length !== 24) t.fail('nonce of the wrong size')
    seen.add(Buffer.from(r).toString('hex'))
    const c = counterNonce(BigInt(i))
    seen.add(Buffer.from(c.subarray(0, 16)).toString('hex'))
    if (nonceCounter(c) !== BigInt(i)) t.fail('counter lost')
  }
  t.equal(seen.size, 40_000, 'every random part distinct')
  // Not all zero: the pool is zeroed behind what it hands out, never before.
  t.notOk(Buffer.from(randomNonce()).equals(Buffer.alloc(24)))
})
