// A full garbage collection once a worker thread has been idle for a while.
// A worker that parsed a burst of large frames (or built a graph) keeps the
// heap it grew: V8 collects it only when allocation resumes, and an idle
// worker never signals idleness, so a 100 000-vector upload left ~130 MB of
// garbage resident in the frame worker (docs/BENCHMARKS.md). One collection of
// a small live heap takes a few milliseconds, on the worker's own thread.
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Quiet this long after the last piece of work, then collect. */
export const IDLE_GC_MS = 1000
/** Below this much heap there is nothing worth giving back. */
const MIN_HEAP_BYTES = 24 * 1024 * 1024

type Collect = () => void

/** V8's gc(), exposed for this isolate; null where the flag cannot be set. */
function exposeGc(): Collect | null {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as Collect) : null
  } catch {
    return null
  }
}

export interface IdleCollector {
  /** Call after each piece of work: the quiet period starts again. */
  touch(): void
}

export function idleCollector(quietMs = IDLE_GC_MS): IdleCollector {
  const gc = exposeGc()
  let timer: NodeJS.Timeout | undefined
  const collect = (): void => {
    timer = undefined
    if (getHeapStatistics().total_heap_size >= MIN_HEAP_BYTES) gc?.()
  }
  return {
    touch() {
      if (!gc) return
      if (timer) timer.refresh()
      else timer = setTimeout(collect, quietMs).unref()
    },
  }
}
