// idleCollector: after the quiet period a full (major) collection runs, once;
// work within the period puts it off. Observed through V8's own gc entries.
import t from 'tap'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { idleCollector } from '../../src/util/idle-gc.js'

function majorGcs(t: { teardown(fn: () => unknown): void }): { count(): number; next(): Promise<number> } {
  let n = 0
  let waiter: ((at: number) => void) | undefined
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue
      n++
      waiter?.(e.startTime)
      waiter = undefined
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  t.teardown(() => obs.disconnect())
  return { count: () => n, next: () => new Promise((resolve) => (waiter = resolve)) }
}

t.test('a quiet period ends in one major collection; work inside it puts it off', async (t) => {
  // Over the heap size below which it does nothing (24 MiB): 4 M numbers kept alive.
  const ballast = Array.from({ length: 4_000_000 }, (_, i) => i + 0.5)
  const gcs = majorGcs(t)
  const idle = idleCollector(200)
  const start = performance.now()
  idle.touch()
  await new Promise((r) => setTimeout(r, 100))
  idle.touch() // work at 100 ms: the quiet period starts again
  // The collector's timer is unref'd (it must not keep a process alive), and gc entries are delivered
  // when the loop next turns: this interval keeps it turning until the entry is in.
  const turning = setInterval(() => undefined, 10)
  const at = await gcs.next()
  clearInterval(turning)
  t.ok(at - start >= 290, `collected after the quiet period that followed the last work (${Math.round(at - start)} ms)`)
  // Nothing more without new work: a second quiet period passes (a timer of ours, ref'd, so entries are delivered).
  const after = gcs.count()
  await new Promise((r) => setTimeout(r, 400))
  t.equal(gcs.count(), after, 'once: nothing more without new work')
  t.equal(ballast.length, 4_000_000)
})
