// The worker-RPC helper against a real small worker (fixtures/echo-worker.ts):
// replies matched by id, reports, transfer lists, every way the worker can
// die (exit, uncaught error, terminated from outside, never started), restart
// on the next call, and a clean close.
import t, { type Test } from 'tap'
import { startedWorkers } from '../helpers/workers.js'
import type { Worker } from 'node:worker_threads'
import { WorkerRpc, type WorkerRpcOptions } from '../../src/util/worker-rpc.js'

type Request = { op: 'echo'; id: number; value: unknown } | { op: 'hold'; id: number } | { op: 'sum'; id: number; data: Float32Array }
type Reply = { id: number; value: unknown; threadId: number }
type Report = { report: unknown }

function make(t: Test, opts: Partial<WorkerRpcOptions<Report>> = {}) {
  const reports: unknown[] = []
  const deaths: Error[] = []
  const rpc = new WorkerRpc<Request, Reply, Report>({
    callerUrl: import.meta.url,
    baseName: 'fixtures/echo-worker',
    name: 'echo',
    onReport: (r) => void reports.push(r.report),
    onDeath: (err) => void deaths.push(err),
    ...opts,
  })
  t.teardown(() => rpc.close())
  return { rpc, reports, deaths }
}

const exitCode = (worker: Worker): Promise<number> => new Promise((resolve) => worker.once('exit', resolve))

t.test('replies find their calls by id whatever their order; reports go to onReport', async (t) => {
  const { rpc, reports } = make(t)
  t.equal(rpc.running, false, 'nothing starts before the first use')
  const order: string[] = []
  const a = rpc.call({ op: 'hold' }).then((r) => (order.push('a'), r))
  const b = rpc.call({ op: 'hold' }).then((r) => (order.push('b'), r))
  t.equal(rpc.running, true)
  rpc.post({ op: 'report', value: { n: 1 } })
  const echo = await rpc.call({ op: 'echo', value: [1, 'two'] })
  t.same(echo.value, [1, 'two'])
  t.same(reports, [{ n: 1 }], 'the report, posted before the echo, arrived before it')
  t.equal(rpc.pending, 2, 'the held calls wait')
  rpc.post({ op: 'release' })
  const [ra, rb] = await Promise.all([a, b])
  t.same(order, ['b', 'a'], 'released newest first, each resolved with its own reply')
  t.same([ra.value, rb.value], ['released', 'released'])
  t.equal(rpc.pending, 0)
})

t.test('a transfer list moves buffers to the worker; without one they are copied', async (t) => {
  const { rpc } = make(t)
  const moved = Float32Array.from([1, 2, 3.5])
  t.equal((await rpc.call({ op: 'sum', data: moved }, [moved.buffer])).value, 6.5)
  t.equal(moved.byteLength, 0, 'the sender no longer holds the moved buffer')
  const copied = Float32Array.from([4, 5])
  t.equal((await rpc.call({ op: 'sum', data: copied })).value, 9)
  t.same(Array.from(copied), [4, 5], 'a copied buffer stays with the sender')
})

t.test('a worker that exits rejects every pending call; the next call starts a new one', async (t) => {
  const workers = startedWorkers(t, 'echo')
  const { rpc, deaths } = make(t)
  const first = await rpc.call({ op: 'echo', value: 1 })
  const held = [rpc.call({ op: 'hold' }), rpc.call({ op: 'hold' })]
  rpc.post({ op: 'exit', code: 3 })
  const settled = await Promise.allSettled(held)
  t.same(
    settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'resolved')),
    ['echo worker exited with code 3', 'echo worker exited with code 3'],
  )
  t.same(
    deaths.map((e) => e.message),
    ['echo worker exited with code 3'],
    'onDeath told once',
  )
  t.equal(rpc.running, false)
  t.equal(rpc.pending, 0)
  const again = await rpc.call({ op: 'echo', value: 2 })
  t.equal(again.value, 2)
  t.not(again.threadId, first.threadId, 'answered by a new thread')
  t.equal(workers.length, 2, 'two starts published')
})

t.test('an uncaught error in the worker rejects pending calls with that error', async (t) => {
  const { rpc, deaths } = make(t)
  await rpc.call({ op: 'echo', value: 'warm' })
  const held = rpc.call({ op: 'hold' })
  rpc.post({ op: 'throw', message: 'boom' })
  await t.rejects(held, { message: 'boom' })
  t.equal(deaths.length, 1, 'the exit that follows the error is not a second death')
  t.equal((await rpc.call({ op: 'echo', value: 'after' })).value, 'after')
})

t.test('a worker terminated from outside: calls posted to it reject, the next one works', async (t) => {
  const workers = startedWorkers(t, 'echo')
  const { rpc, deaths } = make(t)
  await rpc.call({ op: 'echo', value: 0 })
  const exited = exitCode(workers[0]!)
  void workers[0]!.terminate()
  // Posted after terminate(): the thread never runs it.
  const lost = rpc.call({ op: 'echo', value: 'lost' })
  await t.rejects(lost, { message: 'echo worker exited with code 1' })
  t.equal(await exited, 1)
  t.equal(deaths.length, 1)
  t.equal((await rpc.call({ op: 'echo', value: 'found' })).value, 'found')
  t.equal(workers.length, 2)
})

t.test('a worker that cannot start rejects the call; nothing is left running', async (t) => {
  const { rpc, deaths } = make(t, { baseName: 'fixtures/no-such-worker' })
  await t.rejects(rpc.call({ op: 'echo', value: 1 }), /no-such-worker|Cannot find module/)
  t.equal(deaths.length, 1)
  t.equal(rpc.running, false)
  t.equal(rpc.pending, 0)
})

t.test('close: pending calls reject, a stop message ends the worker cleanly, the next call restarts', async (t) => {
  const workers = startedWorkers(t, 'echo')
  const { rpc, deaths } = make(t, { stop: { message: { op: 'stop' }, graceMs: 60_000 } })
  await rpc.call({ op: 'echo', value: 1 })
  const code = exitCode(workers[0]!)
  const held = rpc.call({ op: 'hold' })
  const closing = rpc.close()
  await t.rejects(held, { message: 'echo worker closed' })
  await closing
  t.equal(await code, 0, 'exited on the stop message, not terminated')
  t.equal(deaths.length, 0, 'closing is not a death')
  await rpc.close()
  t.equal((await rpc.call({ op: 'echo', value: 'back' })).value, 'back')
  t.equal(workers.length, 2)
})

t.test('close terminates a worker that ignores the stop message, or when there is none', async (t) => {
  const workers = startedWorkers(t, 'echo')
  const deaf = make(t, { stop: { message: { op: 'ignore' }, graceMs: 20 } }).rpc
  await deaf.call({ op: 'echo', value: 1 })
  const deafCode = exitCode(workers[0]!)
  await deaf.close()
  t.equal(await deafCode, 1, 'terminated after the grace')

  const plain = make(t)
  await plain.rpc.call({ op: 'echo', value: 1 })
  const plainCode = exitCode(workers[1]!)
  await plain.rpc.close()
  t.equal(await plainCode, 1, 'terminated at once')
  t.equal(plain.deaths.length, 0)
})
