// Worker threads whose entry file sits next to the module that starts them.
// Built, modules are .js and a worker starts as usual. Under tsx (tests,
// benches, `npm run dev`) modules are .ts, and Node >= 20.6 loads a worker's
// entry before the parent's --import hooks apply, so a .ts entry fails with
// ERR_UNKNOWN_FILE_EXTENSION (tsx issue #354): such a worker registers tsx
// itself, then imports its .ts entry.
import { Worker } from 'node:worker_threads'

function workerFile(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./${baseName}${ext}`, callerUrl)
}

/** Starts a worker that does not keep the process alive. */
/**
 * A worker's young generation, capped: both workers allocate short-lived
 * garbage fast (parsed frames; hnswlib-node's plain arrays), which grows a
 * default young generation to its maximum, and V8 keeps it committed while the
 * worker idles: ~35 MB a worker, measured (docs/BENCHMARKS.md). Scavenges of
 * a small young generation are frequent and cheap; nothing lives there long.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 }

export function startWorker(callerUrl: string, baseName: string): Worker {
  const file = workerFile(callerUrl, baseName)
  let worker: Worker
  if (file.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api')
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}) })`
    worker = new Worker(boot, { eval: true, resourceLimits: WORKER_LIMITS })
  } else {
    worker = new Worker(file, { resourceLimits: WORKER_LIMITS })
  }
  worker.unref()
  return worker
}
