// Worker entry files sit next to the module that starts them. Under tsx (tests,
// dev) modules are .ts, once built they are .js: take the caller's extension.
import { Worker, type WorkerOptions } from 'node:worker_threads'

export function workerFile(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./${baseName}${ext}`, callerUrl)
}

/** Starts a worker that neither keeps the process alive nor dies silently. */
export function startWorker(callerUrl: string, baseName: string, options: WorkerOptions = {}): Worker {
  const worker = new Worker(workerFile(callerUrl, baseName), options)
  worker.unref()
  return worker
}
