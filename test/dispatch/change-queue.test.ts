// The per-session change queue: one change of a session at a time, in the
// order they came; sessions never wait for each other; a synchronous change
// with nothing queued runs at once.
import t from 'tap'
import { ChangeQueue } from '../../src/dispatch/change-queue.js'

/** A promise and the functions that settle it. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

t.test('a synchronous change with nothing queued runs at once and returns its value, not a promise', async (t) => {
  const q = new ChangeQueue()
  t.equal(
    q.run('a', () => 7),
    7,
  )
  t.throws(() =>
    q.run('a', () => {
      throw new Error('checked and refused')
    }),
  )
  t.equal(
    q.run('a', () => 8),
    8,
    'a throw leaves nothing queued',
  )
})

t.test("one session's changes run one at a time, in order; another session's do not wait", async (t) => {
  const q = new ChangeQueue()
  const order: string[] = []
  const first = deferred()
  const a1 = q.run('a', async () => {
    order.push('a1 start')
    await first.promise
    order.push('a1 end')
    return 1
  })
  const a2 = q.run('a', () => {
    order.push('a2')
    return 2
  })
  t.ok(a2 instanceof Promise, 'queued behind a change in progress')
  const b = q.run('b', () => {
    order.push('b')
    return 3
  })
  t.equal(b, 3, 'another session runs at once')
  t.same(order, ['a1 start', 'b'])
  first.resolve()
  t.equal(await a1, 1)
  t.equal(await a2, 2)
  t.same(order, ['a1 start', 'b', 'a1 end', 'a2'])
})

t.test('a change that fails does not hold up the next', async (t) => {
  const q = new ChangeQueue()
  const gate = deferred()
  const failing = q.run('a', async () => {
    await gate.promise
    throw new Error('journal refused')
  })
  const next = q.run('a', () => 'ran')
  gate.resolve()
  await t.rejects(failing, /journal refused/)
  t.equal(await next, 'ran')
  // Once everything has settled the session's queue is empty again: the fast path is back.
  await new Promise((r) => setImmediate(r))
  t.equal(
    q.run('a', () => 'sync'),
    'sync',
  )
})
