// Bulk work runs below the event loop when cores are scarce: the frame worker
// at nice 5, the HNSW build at nice 10 (per thread on Linux; read back from
// /proc/self/task/<tid>/stat, field 19).
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { FrameOffload } from '../../src/dispatch/frame-offload.js'
import { HnswPool } from '../../src/vectors/hnsw-pool.js'

const niceOfThreads = (): number[] =>
  readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  })

t.test('the frame worker and the HNSW worker lower their own threads only', { skip: process.platform === 'linux' ? false : 'per-thread nice values are Linux only' }, async (t) => {
  t.notOk(niceOfThreads().includes(5), 'no thread at nice 5 before the frame worker starts')
  const offload = new FrameOffload(1024)
  t.teardown(() => offload.close())
  await offload.seal(new Uint8Array(4096), new Uint8Array(32)) // big enough to start the worker
  t.ok(niceOfThreads().includes(5), 'the frame worker runs at nice 5')

  const pool = new HnswPool()
  t.teardown(() => pool.close())
  let added!: () => void
  const progressed = new Promise<void>((resolve) => (added = resolve))
  const index = pool.open({ dims: 4, m: 8, efConstruction: 20, capacity: 16 }, { progress: () => added(), rebuilt() {}, failed() {} })
  pool.add(index, Uint32Array.from([0]), Float32Array.from([1, 0, 0, 0]))
  await progressed // the HNSW worker is up and has added the point
  const nices = niceOfThreads()
  t.ok(nices.includes(10), 'the HNSW worker runs at nice 10')
  t.equal(nices[0], 0, 'the main thread keeps its priority')
})
