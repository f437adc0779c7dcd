// The SDK's request book (sdk/src/requests.ts): pending calls in call order,
// the send queue, settling once, and timers stopped when a call settles.
import t from 'tap'
import { setTimeout as wait } from 'node:timers/promises'
import { RequestBook, type Pending } from '../../sdk/src/requests.js'
import { pendingRequest } from './fixtures/pending.js'

const pending = pendingRequest

/** A book holding plain requests with these ids, queued in this order. */
function queued<const T extends readonly string[]>(...ids: T): [RequestBook, ...{ [K in keyof T]: Pending }] {
  const book = new RequestBook()
  const entries = ids.map((id) => pending(id))
  for (const p of entries) book.add(p, false)
  return [book, ...entries] as unknown as [RequestBook, ...{ [K in keyof T]: Pending }]
}

/** Takes every queued request, in order. */
function drain(book: RequestBook): string[] {
  const ids: string[] = []
  for (let p = book.next(); p; p = book.next()) ids.push(p.id)
  return ids
}

t.test('queued in call order; `first` goes to the head', async (t) => {
  const book = new RequestBook()
  t.equal(book.hasQueued, false)
  t.equal(book.next(), undefined, 'nothing queued')
  book.add(pending('a'), false)
  book.add(pending('b'), false)
  book.add(pending('init', { kind: 'init' }), true)
  t.equal(book.hasQueued, true)
  t.same(drain(book), ['init', 'a', 'b'])
  t.equal(book.hasQueued, false)
  t.same(
    book
      .all()
      .map((p) => p.id)
      .sort(),
    ['a', 'b', 'init'],
    'taken from the queue, still pending',
  )
})

t.test('settle: once, and settled entries are skipped by the queue', async (t) => {
  const [book, a, b] = queued('a', 'b')
  t.equal(book.has(a), true)
  t.equal(book.settle(a), true, 'first settle')
  t.equal(book.settle(a), false, 'second settle: already settled')
  t.equal(book.has(a), false)
  t.equal(book.get('a'), undefined)
  t.equal(book.get('b'), b)
  t.same(drain(book), ['b'], 'a settled request is never sent')
})

t.test('has() is about this very entry, not only its id', async (t) => {
  const book = new RequestBook()
  book.add(pending('a'), false)
  t.equal(book.has(pending('a')), false)
  t.equal(book.settle(pending('b')), false, 'settling an unknown entry changes nothing')
  t.equal(book.all().length, 1)
})

t.test('requeue puts a request back at the head, unless it settled meanwhile', async (t) => {
  const [book, a, b, c] = queued('a', 'b', 'c')
  t.equal(book.next(), a)
  book.requeue(a)
  t.same(drain(book), ['a', 'b', 'c'], 'a could not be sent: it goes first again')
  book.requeue(b)
  book.settle(b)
  t.same(drain(book), [], 'a settled request is not queued again')
  book.settle(c)
  book.requeue(c)
  t.equal(book.hasQueued, false, 'requeue of a settled request adds nothing')
})

t.test('initQueuedFor: an init for that session still waiting to be sent', async (t) => {
  const book = new RequestBook()
  const init = pending('i', { kind: 'init', type: 'session_init', target: 's2' })
  book.add(pending('r', { target: 's2' }), false)
  book.add(init, true)
  t.equal(book.initQueuedFor('s2'), true)
  t.equal(book.initQueuedFor('s1'), false, 'another session')
  t.equal(book.next(), init)
  t.equal(book.initQueuedFor('s2'), false, 'taken to be sent')
  book.requeue(init)
  t.equal(book.initQueuedFor('s2'), true, 'back in the queue')
  book.settle(init)
  t.equal(book.initQueuedFor('s2'), false, 'settled')
  const onlyRequest = new RequestBook()
  onlyRequest.add(pending('r', { target: 's2' }), false)
  t.equal(onlyRequest.initQueuedFor('s2'), false, 'a plain request is no init')
})

t.test('sent() lists what went on the wire; clearQueue forgets the queue, not the pending', async (t) => {
  const [book] = queued('a', 'b')
  const taken = book.next()
  if (taken) taken.sentBytes = 120
  t.same(
    book.sent().map((p) => p.id),
    ['a'],
  )
  book.clearQueue()
  t.equal(book.hasQueued, false)
  t.equal(book.next(), undefined)
  t.same(
    book.all().map((p) => p.id),
    ['a', 'b'],
    'both still pending (the client rejects them itself)',
  )
})

t.test('settle stops the request timer', async (t) => {
  const book = new RequestBook()
  let fired = false
  const p = pending('a', { timer: setTimeout(() => (fired = true), 1) })
  book.add(p, false)
  t.equal(book.settle(p), true)
  // Timers fire in order of their due time: one due later than the request
  // timer runs after it would have.
  await wait(20)
  t.equal(fired, false, 'the timeout of a settled request never fires')
  let control = false
  setTimeout(() => (control = true), 1)
  await wait(20)
  t.equal(control, true, 'the same timer, not settled, does fire')
})
