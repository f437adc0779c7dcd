// The SDK's tiny emitter (sdk/src/emitter.ts), which SessionClient's events
// run on in Node and browsers alike, and which node:events' `once` must
// accept as it accepts an EventEmitter.
import t from 'tap'
import { once, type EventEmitter } from 'node:events'
import { Emitter } from '@rag-session-host/client'

interface Events {
  ready: [a: number, b: string]
  tick: []
  error: [error: Error]
}

t.test('on and emit: every listener in order, with the arguments', async (t) => {
  const em = new Emitter<Events>()
  const seen: string[] = []
  t.equal(em.emit('ready', 1, 'x'), false, 'no listener: emit says so')
  em.on('ready', (a, b) => seen.push(`first ${a} ${b}`)).on('ready', (a, b) => seen.push(`second ${a} ${b}`))
  t.equal(em.listenerCount('ready'), 2)
  t.equal(em.emit('ready', 7, 'y'), true)
  t.same(seen, ['first 7 y', 'second 7 y'])
})

t.test('once fires once; off removes a listener, or a once listener by the function given', async (t) => {
  const em = new Emitter<Events>()
  let onceCalls = 0
  let onCalls = 0
  const onceListener = (): void => void onceCalls++
  const listener = (): void => void onCalls++
  em.once('tick', onceListener)
  em.on('tick', listener)
  em.emit('tick')
  em.emit('tick')
  t.equal(onceCalls, 1)
  t.equal(onCalls, 2)
  em.off('tick', listener)
  t.equal(em.listenerCount('tick'), 0)
  t.equal(em.emit('tick'), false)
  em.once('tick', onceListener)
  em.removeListener('tick', onceListener)
  t.equal(em.listenerCount('tick'), 0, 'a once listener is removed by the function passed to once')
  t.equal(em.emit('tick'), false)
  t.equal(onceCalls, 1)
  em.off('ready', listener)
  t.equal(em.listenerCount('ready'), 0, 'removing what was never added changes nothing')
})

t.test('a listener removed while an emit runs still gets that emit; one added does not', async (t) => {
  const em = new Emitter<Events>()
  const seen: string[] = []
  const second = (): void => void seen.push('second')
  em.on('tick', () => {
    seen.push('first')
    em.off('tick', second)
    em.on('tick', () => seen.push('added'))
  })
  em.on('tick', second)
  em.emit('tick')
  t.same(seen, ['first', 'second'])
})

t.test('a listener that throws does not stop the others; its error surfaces asynchronously', async (t) => {
  const em = new Emitter<Events>()
  const boom = new Error('listener fault')
  const seen: string[] = []
  em.on('tick', () => {
    throw boom
  })
  em.on('tick', () => seen.push('after'))
  // Take the rethrown error from the process before tap's own handler sees it.
  const saved = process.rawListeners('uncaughtException') as ((err: Error) => void)[]
  process.removeAllListeners('uncaughtException')
  const rethrown = new Promise<unknown>((resolve) =>
    process.once('uncaughtException', (err) => {
      for (const l of saved) process.on('uncaughtException', l)
      resolve(err)
    }),
  )
  t.equal(em.emit('tick'), true, 'emit itself does not throw')
  t.same(seen, ['after'], 'the next listener ran')
  t.equal(await rethrown, boom, 'the error is rethrown, not swallowed')
})

t.test('next(): the arguments of the next event, as a promise', async (t) => {
  const em = new Emitter<Events>()
  const next = em.next('ready')
  t.equal(em.listenerCount('ready'), 1)
  em.emit('ready', 3, 'z')
  t.same(await next, [3, 'z'])
  t.equal(em.listenerCount('ready'), 0, 'its listener is gone')
})

t.test('node:events once() works on it as on an EventEmitter', async (t) => {
  const em = new Emitter<Events>()
  // At run time once() needs only on/once/removeListener; its typings want a
  // full EventEmitter, hence the cast.
  const asNode = em as unknown as EventEmitter
  const got = once(asNode, 'ready')
  t.equal(em.listenerCount('ready'), 1)
  t.equal(em.listenerCount('error'), 1, 'once() listens for error too')
  em.emit('ready', 5, 'w')
  t.same(await got, [5, 'w'])
  t.equal(em.listenerCount('ready'), 0, 'cleaned up')
  t.equal(em.listenerCount('error'), 0, 'its error listener is removed')

  const failed = once(asNode, 'tick')
  const fault = new Error('went wrong')
  em.emit('error', fault)
  await t.rejects(failed, fault, "an 'error' event rejects it")
  t.equal(em.listenerCount('tick'), 0)
  t.equal(em.listenerCount('error'), 0)

  const controller = new AbortController()
  const aborted = once(asNode, 'tick', { signal: controller.signal })
  controller.abort()
  await t.rejects(aborted, { name: 'AbortError' }, 'an abort signal rejects it')
  t.equal(em.listenerCount('tick'), 0, 'and removes its listener')

  const errorEvent = once(asNode, 'error')
  em.emit('error', fault)
  t.same(await errorEvent, [fault], "once(em, 'error') resolves with the error")
  t.equal(em.listenerCount('error'), 0)
})
