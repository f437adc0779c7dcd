// The real worker threads a test's host code starts, as the worker-RPC helper
// announces them on its diagnostics channel: so a test can kill one for real.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Worker } from 'node:worker_threads'
import { workerStartChannel, type WorkerStart } from '../../src/util/worker-rpc.js'

/** Workers started under `name` while the test runs, in start order (the array fills as they start). */
export function startedWorkers(t: { teardown(fn: () => unknown): void }, name: string): Worker[] {
  const workers: Worker[] = []
  const onStart = (msg: unknown): void => {
    const start = msg as WorkerStart
    if (start.name === name) workers.push(start.worker)
  }
  subscribe(workerStartChannel.name, onStart)
  t.teardown(() => void unsubscribe(workerStartChannel.name, onStart))
  return workers
}
