// The fair queue by itself: start-time fair queuing across keys, costed by size.
import t from 'tap'
import { FairQueue } from '../../src/util/fair-queue.js'

const drain = <T>(q: FairQueue<T>): T[] => {
  const out: T[] = []
  for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v)
  return out
}

t.test('one key alone is served in its own order', async (t) => {
  const q = new FairQueue<string>()
  for (const v of ['a1', 'a2', 'a3']) q.push('a', 100, v)
  t.equal(q.size, 3)
  t.same(drain(q), ['a1', 'a2', 'a3'])
  t.equal(q.size, 0)
  t.equal(q.shift(), undefined)
})

t.test('a cheap job of another key overtakes a backlog of costly ones, all but the head', async (t) => {
  const q = new FairQueue<string>()
  for (let i = 1; i <= 5; i++) q.push('uploader', 2_000_000, `big${i}`)
  q.push('searcher', 100, 'small')
  t.same(drain(q), ['big1', 'small', 'big2', 'big3', 'big4', 'big5'])
})

t.test('a job that arrives while a backlog is being served waits behind none of what is still queued', async (t) => {
  const q = new FairQueue<string>()
  for (let i = 1; i <= 4; i++) q.push('uploader', 1_000_000, `big${i}`)
  t.equal(q.shift(), 'big1')
  t.equal(q.shift(), 'big2')
  q.push('searcher', 100, 'small')
  t.same(drain(q), ['small', 'big3', 'big4'])
})

t.test('keys with equal demand alternate; costs weigh the share', async (t) => {
  const even = new FairQueue<string>()
  for (let i = 1; i <= 3; i++) {
    even.push('a', 10, `a${i}`)
    even.push('b', 10, `b${i}`)
  }
  t.same(drain(even), ['a1', 'b1', 'a2', 'b2', 'a3', 'b3'])

  // b's jobs cost a quarter of a's: b gets about four for each of a's.
  const weighed = new FairQueue<string>()
  for (let i = 1; i <= 2; i++) weighed.push('a', 40, `a${i}`)
  for (let i = 1; i <= 8; i++) weighed.push('b', 10, `b${i}`)
  t.same(drain(weighed), ['a1', 'b1', 'b2', 'b3', 'b4', 'a2', 'b5', 'b6', 'b7', 'b8'])
})

t.test('a key that was idle starts level with the present, neither ahead nor owed', async (t) => {
  const q = new FairQueue<string>()
  for (let i = 1; i <= 3; i++) q.push('a', 10, `a${i}`)
  t.same(drain(q), ['a1', 'a2', 'a3'])
  // 'b' sent nothing while 'a' was served: it gets no credit for that time.
  q.push('a', 10, 'a4')
  q.push('a', 10, 'a5')
  for (let i = 1; i <= 4; i++) q.push('b', 10, `b${i}`)
  // Level with a3, the job served last (as if still in service): then they alternate, no burst for b.
  t.same(drain(q), ['b1', 'a4', 'b2', 'a5', 'b3', 'b4'])
})

t.test('zero-cost jobs still take turns', async (t) => {
  const q = new FairQueue<string>()
  q.push('a', 0, 'a1')
  q.push('a', 0, 'a2')
  q.push('b', 0, 'b1')
  t.same(drain(q), ['a1', 'b1', 'a2'])
})

t.test('lanes of keys gone idle are forgotten', async (t) => {
  const q = new FairQueue<number>()
  for (let i = 0; i < 1000; i++) q.push(`k${i}`, 1, i)
  t.equal(drain(q).length, 1000)
  q.push('again', 1, 1)
  t.equal(q.shift(), 1)
  // No observable state but behaviour: a fresh key after all that is served at once.
  q.push('x', 5, 2)
  q.push('y', 5, 3)
  t.same(drain(q), [2, 3])
})
