// The next message of a given type from a bench worker thread; an `error`
// message or the worker's error event rejects, naming the worker.
import type { Worker } from 'node:worker_threads'

export function nextReply<T>(worker: Worker, type: string, label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }): void => {
      if (m.type !== type && m.type !== 'error') return
      worker.off('message', onMessage)
      worker.off('error', onError)
      if (m.type === 'error') reject(new Error(`${label}: ${m.message}`))
      else resolve(m as T)
    }
    const onError = (err: Error): void => {
      worker.off('message', onMessage)
      reject(err)
    }
    worker.on('message', onMessage)
    worker.once('error', onError)
  })
}
