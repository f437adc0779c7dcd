// The SDK's own retry of `unavailable` (sdk/src/retry-policy.ts): which
// answers are sent again by the client itself, after how long, and when the
// request's deadline makes it fail with the answer instead. Pure policy, so
// no socket is needed. Plus the code itself in the shared list.
import t from 'tap'
import { HostError, defaultRetryable } from '@rag-session-host/client'
import { ERROR_CODES, isErrorCode, isRetryable } from '@rag-session-host/client/shared'
import { UNAVAILABLE_DEFAULT_DELAY_MS, UNAVAILABLE_MAX_DELAY_MS, UNAVAILABLE_MIN_DELAY_MS, unavailableDelayMs, unavailableRetryDelay } from '../../sdk/src/retry-policy.js'

const unavailable = (retry_after_ms?: number): HostError =>
  HostError.fromWire({ code: 'unavailable', message: 'the session is moving between hosts', retryable: true, ...(retry_after_ms === undefined ? {} : { retry_after_ms }) }, 'r1')

t.test('unavailable is a contract code, retryable', async (t) => {
  t.ok(ERROR_CODES.includes('unavailable'))
  t.ok(isErrorCode('unavailable'))
  t.equal(isRetryable('unavailable'), true)
  t.equal(defaultRetryable('unavailable'), true)
  t.equal(new HostError('unavailable', 'x').retryable, true)
  t.match(unavailable(250), { code: 'unavailable', retryable: true, retryAfterMs: 250, requestId: 'r1' })
  t.match(HostError.fromWire({ code: 'unavailable', message: 'x' }), { retryable: true }, 'missing retryable flag: by the code')
})

t.test('the wait: the host hint, a default without one, within bounds', async (t) => {
  t.equal(UNAVAILABLE_DEFAULT_DELAY_MS, 1000)
  t.equal(UNAVAILABLE_MIN_DELAY_MS, 50)
  t.equal(UNAVAILABLE_MAX_DELAY_MS, 10_000)
  t.equal(unavailableDelayMs(unavailable(250)), 250, 'the hint as given')
  t.equal(unavailableDelayMs(unavailable(250.2)), 251, 'whole milliseconds, never earlier than asked')
  t.equal(unavailableDelayMs(unavailable()), 1000, 'no hint: the default')
  t.equal(unavailableDelayMs(unavailable(-5)), 1000, 'a nonsense hint is dropped (fromWire), so: the default')
  t.equal(unavailableDelayMs(unavailable(0)), 50, 'a hint of 0 does not spin')
  t.equal(unavailableDelayMs(unavailable(10)), 50)
  t.equal(unavailableDelayMs(unavailable(10_000)), 10_000)
  t.equal(unavailableDelayMs(unavailable(600_000)), 10_000, 'a very large hint is capped')
  t.equal(unavailableDelayMs(unavailable(Number.MAX_SAFE_INTEGER)), 10_000)
})

t.test('retried while the deadline leaves room for the wait', async (t) => {
  t.equal(unavailableRetryDelay(unavailable(250), 30_000), 250)
  t.equal(unavailableRetryDelay(unavailable(250), 251), 250, 'just fits')
  t.equal(unavailableRetryDelay(unavailable(250), 250), undefined, 'would be sent at the deadline: fail now, with the answer')
  t.equal(unavailableRetryDelay(unavailable(250), 100), undefined)
  t.equal(unavailableRetryDelay(unavailable(250), 0), undefined)
  t.equal(unavailableRetryDelay(unavailable(250), -10), undefined, 'deadline already past')
  t.equal(unavailableRetryDelay(unavailable(), 900), undefined, 'the default wait counts too')
  t.equal(unavailableRetryDelay(unavailable(600_000), 30_000), 10_000, 'capped, so it fits a 30 s timeout')
  t.equal(unavailableRetryDelay(unavailable(600_000), Infinity), 10_000, 'no deadline: retried for good, at most every 10 s')
})

t.test('nothing else is retried by the client: other errors go to the caller', async (t) => {
  for (const code of ['capacity_exceeded', 'rate_limited', 'internal', 'timeout', 'disconnected', 'no_session', 'forbidden', 'session_ended', 'some_future_code']) {
    t.equal(unavailableRetryDelay(new HostError(code, 'x', { retryAfterMs: 10 }), 30_000), undefined, code)
  }
  t.equal(unavailableRetryDelay(new HostError('unavailable', 'x', { retryable: false, retryAfterMs: 10 }), 30_000), undefined, 'unavailable the host marked not retryable')
  for (const err of [new Error('unavailable'), { code: 'unavailable', retryable: true }, 'unavailable', undefined]) {
    t.equal(unavailableRetryDelay(err, 30_000), undefined, `not a HostError: ${JSON.stringify(err) ?? String(err)}`)
  }
})
