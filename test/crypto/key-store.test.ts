import t from 'tap'
import { KeyStore } from '../../src/crypto/key-store.js'
import { ReplayCache } from '../../src/crypto/replay-cache.js'

t.test('key store rotates, checks counters, and forgets', async (t) => {
  const keys = new KeyStore()
  const k1 = new Uint8Array(32).fill(1)
  t.equal(keys.rotate('c1', 's1', k1), undefined)
  const e1 = keys.get('c1', 's1')!
  t.ok(e1)
  t.equal(keys.get('c1', 'other'), undefined, 'no key for another session')
  t.equal(keys.advance(e1, 0n), false, 'counter 0 is never accepted')
  t.equal(keys.advance(e1, 5n), true)
  t.equal(keys.advance(e1, 5n), false, 'same counter again')
  t.equal(keys.advance(e1, 4n), false, 'lower counter')
  t.equal(keys.advance(e1, 6n), true)

  const k2 = new Uint8Array(32).fill(2)
  t.equal(keys.rotate('c1', 's1', k2), 's1')
  t.same([...k1], new Array(32).fill(0), 'replaced key is wiped')
  t.equal(keys.isCurrent(e1), false)
  const e2 = keys.get('c1', 's1')!
  t.equal(e2.lastCounter, 0n, 'counter starts afresh')
  t.equal(keys.advance(e2, 1n), true)

  t.equal(keys.rotate('c1', 's2', new Uint8Array(32)), 's1', 'moving to another session reports the old one')
  t.equal(keys.get('c1', 's1'), undefined)
  t.equal(keys.sessionOf('c1'), 's2')
  t.equal(keys.forget('c1'), 's2')
  t.equal(keys.size, 0)
})

t.test('replay cache remembers for the window and is bounded', async (t) => {
  const cache = new ReplayCache(1000, 2)
  cache.add('a', 0)
  t.equal(cache.has('a', 999), true)
  t.equal(cache.has('a', 1000), false, 'expired')
  cache.add('b', 10)
  t.equal(cache.waitForRoom(500), 500, 'full: room when the oldest expires')
  t.equal(cache.waitForRoom(1000), 0, 'the oldest expired')
  t.equal(cache.size, 1)
  t.equal(cache.sweep(2000), 1)
  t.equal(cache.size, 0)
})
