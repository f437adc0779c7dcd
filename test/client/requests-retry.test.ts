// The request book's part in retrying `unavailable` (sdk/src/requests.ts):
// a request sent again goes back in its place in call order, re-inits of a
// reconnect stay ahead, and the head can be looked at without taking it.
import t from 'tap'
import { RequestBook, type Pending } from '../../sdk/src/requests.js'
import { pendingRequest } from './fixtures/pending.js'

/** Takes every queued request, in order. */
function drain(book: RequestBook): string[] {
  const ids: string[] = []
  for (let p = book.next(); p; p = book.next()) ids.push(p.id)
  return ids
}

/** A book with entries `order` 1..n (ids r1..rn), added as the client adds them. */
function book(n: number): [RequestBook, Pending[]] {
  const b = new RequestBook()
  const entries = Array.from({ length: n }, (_, i) => pendingRequest(`r${i + 1}`, { order: i + 1 }))
  for (const p of entries) b.add(p, false)
  return [b, entries]
}

t.test('peek: the head, left in the queue; settled entries ahead are dropped', async (t) => {
  const [b, [r1, r2]] = book(2)
  t.equal(b.peek(), r1)
  t.equal(b.peek(), r1, 'still there')
  b.settle(r1!)
  t.equal(b.peek(), r2, 'a settled head is skipped')
  t.equal(b.next(), r2)
  t.equal(b.peek(), undefined)
  t.equal(new RequestBook().peek(), undefined)
})

t.test('requeueInOrder: back in call order, behind what was called before it', async (t) => {
  const [b, [r1, r2, r3]] = book(4)
  t.same([b.next(), b.next(), b.next()], [r1, r2, r3], 'three sent')
  // Answered unavailable in the order they were sent.
  b.requeueInOrder(r1!)
  b.requeueInOrder(r2!)
  b.requeueInOrder(r3!)
  t.same(drain(b), ['r1', 'r2', 'r3', 'r4'], 'ahead of r4, which was called after them, in their own order')
})

t.test('requeueInOrder: answers out of order still give call order', async (t) => {
  const [b] = book(3)
  const [r1, r2, r3] = [b.next(), b.next(), b.next()]
  b.requeueInOrder(r3!)
  b.requeueInOrder(r1!)
  b.requeueInOrder(r2!)
  t.same(drain(b), ['r1', 'r2', 'r3'])
})

t.test('requeueInOrder: the re-init of a reconnect stays first', async (t) => {
  const [b] = book(2)
  const r1 = b.next()
  const reinit = pendingRequest('reinit', { kind: 'init', type: 'session_init', order: -3 })
  b.add(reinit, true)
  b.requeueInOrder(r1!)
  t.same(drain(b), ['reinit', 'r1', 'r2'])
  b.requeueInOrder(reinit)
  b.add(pendingRequest('r5', { order: 5 }), false)
  t.same(drain(b), ['reinit', 'r5'], 'a re-init sent again goes ahead of everything')
})

t.test('requeueInOrder: nothing for a settled request', async (t) => {
  const [b, [r1]] = book(1)
  b.next()
  b.settle(r1!)
  b.requeueInOrder(r1!)
  t.equal(b.hasQueued, false)
})
