// The SDK's reconnect policy (sdk/src/reconnect-policy.ts): when a dropped
// connection is retried, how long each attempt waits, and when the client
// gives up. Pure policy, so no socket is needed.
import t from 'tap'
import { HostError, backoffCeiling } from '@rag-session-host/client'
import { ReconnectPolicy } from '../../sdk/src/reconnect-policy.js'

t.test('defaults', async (t) => {
  t.same(new ReconnectPolicy().options, { enabled: true, initialDelayMs: 100, maxDelayMs: 10_000, maxAttempts: Infinity })
  t.same(new ReconnectPolicy({ maxAttempts: 3 }).options, { enabled: true, initialDelayMs: 100, maxDelayMs: 10_000, maxAttempts: 3 }, 'options given override only themselves')
})

t.test('closes that do not blame the client are always retried', async (t) => {
  const policy = new ReconnectPolicy()
  for (let i = 0; i < 10; i++) {
    for (const code of [1000, 1001, 1005, 1006, 1011, 1012, 4000]) t.equal(policy.afterClose(code), undefined, `close ${code}, time ${i + 1}`)
  }
})

t.test('three client-fault closes in a row stop the client', async (t) => {
  for (const code of [1002, 1003, 1007, 1008, 1009]) {
    const policy = new ReconnectPolicy()
    t.equal(policy.afterClose(code), undefined, `${code} once: retried`)
    t.equal(policy.afterClose(code), undefined, `${code} twice: retried`)
    const stop = policy.afterClose(code)
    t.ok(stop instanceof HostError, `${code} three times: stops`)
    t.match(stop, { code: 'disconnected', retryable: false, message: new RegExp(`code ${code} 3 times in a row`) })
  }
})

t.test('a successful reply in between resets the count; other closes do not', async (t) => {
  const policy = new ReconnectPolicy()
  policy.afterClose(1008)
  policy.afterClose(1008)
  policy.succeeded()
  t.equal(policy.afterClose(1008), undefined, 'after a reply: 1 of 3')
  t.equal(policy.afterClose(1006), undefined, 'a network drop is retried')
  t.equal(policy.afterClose(1009), undefined, '2 of 3 (mixed fault codes count together)')
  t.match(policy.afterClose(1002), { code: 'disconnected', retryable: false }, '3 of 3, the drop in between did not reset')
})

t.test('disabled: every unexpected close stops the client', async (t) => {
  const policy = new ReconnectPolicy({ enabled: false })
  for (const code of [1000, 1006, 1008]) {
    const stop = policy.afterClose(code)
    t.ok(stop instanceof HostError)
    t.match(stop, { code: 'disconnected', retryable: false, message: new RegExp(`\\(${code}\\) and reconnect is disabled`) })
  }
})

t.test('attempts wait a jittered backoff below the ceiling, then give up after maxAttempts', async (t) => {
  const opts = { initialDelayMs: 100, maxDelayMs: 350, maxAttempts: 5 }
  const policy = new ReconnectPolicy(opts)
  const ceilings = [100, 200, 350, 350, 350]
  t.same(
    [1, 2, 3, 4, 5].map((n) => backoffCeiling(n, opts)),
    ceilings,
    'the ceiling doubles up to maxDelayMs',
  )
  for (let attempt = 1; attempt <= 5; attempt++) {
    const ceiling = ceilings[attempt - 1] ?? 0
    const delays = Array.from({ length: 200 }, () => policy.attempt(attempt))
    const bad = delays.filter((d) => !('delayMs' in d) || !Number.isInteger(d.delayMs) || d.delayMs < 0 || d.delayMs >= ceiling)
    t.same(bad, [], `attempt ${attempt}: 200 waits, each an integer in [0, ${ceiling})`)
  }
  const last = policy.attempt(6)
  t.ok('giveUp' in last, 'attempt 6 of 5: give up')
  if ('giveUp' in last) t.match(last.giveUp, { code: 'disconnected', retryable: false, message: 'gave up reconnecting after 5 attempts' })
  const never = new ReconnectPolicy({ maxAttempts: 0 }).attempt(1)
  t.ok('giveUp' in never && never.giveUp.message === 'gave up reconnecting after 0 attempts', 'maxAttempts 0: no attempt at all')
  t.ok('delayMs' in new ReconnectPolicy().attempt(1_000_000), 'the default never gives up')
})
