// Waits on state that has no event to await, by polling it.
import { setTimeout as sleep } from 'node:timers/promises'

export async function until(cond: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await sleep(5)
  }
}
