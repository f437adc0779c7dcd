// Waiting in tests. Wait on an event (a reply, a close, a log line) whenever
// there is one; waitUntil is the one polling loop, for state that announces
// nothing (an index finishing its build, a sweep that ran), and `within`
// bounds any other wait so a test fails instead of hanging.

import { HostError } from '@rag-session-host/client'

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what: string
  /** Default 5000 ms. */
  timeoutMs?: number
  /** Default 10 ms. */
  intervalMs?: number
}

/** Resolves once `cond()` is true; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  const { what, timeoutMs = 5000, intervalMs = 10 } = opts
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** `promise`, or a rejection naming `what` if it has not settled after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)
  })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

/** The HostError `promise` rejects with; fails the wait if it resolves, rejects otherwise or does not settle within `ms`. */
export async function rejection(promise: Promise<unknown>, ms = 5000): Promise<HostError> {
  const result = await within(
    promise.then(
      (value) => ({ resolved: value }),
      (err: unknown) => ({ err }),
    ),
    ms,
    'rejection',
  )
  if ('resolved' in result) throw new Error(`expected a rejection, got ${JSON.stringify(result.resolved)}`)
  if (!(result.err instanceof HostError)) throw new Error(`expected a HostError, got ${String(result.err)}`)
  return result.err
}
