import t from 'tap'
import { HostError, defaultRetryable, isHostError, isRetryableError, retryDelayMs } from '@rag-session-host/client'
import { ERROR_CODES } from '@rag-session-host/client/shared'

t.test('HostError carries code, retryable, retryAfterMs, requestId', async (t) => {
  const e = new HostError('rate_limited', 'slow down', { retryAfterMs: 250, requestId: 'r1' })
  t.ok(e instanceof Error)
  t.ok(isHostError(e))
  t.equal(e.name, 'HostError')
  t.equal(e.code, 'rate_limited')
  t.equal(e.message, 'slow down')
  t.equal(e.retryable, true)
  t.equal(e.retryAfterMs, 250)
  t.equal(e.requestId, 'r1')
  t.equal(new HostError('forbidden', 'no').requestId, undefined)
  t.equal(new HostError('forbidden', 'no', { requestId: null }).requestId, undefined)
})

t.test('retryable by default: exactly the contract set plus timeout and disconnected', async (t) => {
  const retryable = ERROR_CODES.filter((c) => defaultRetryable(c))
  t.same([...retryable].sort(), ['capacity_exceeded', 'internal', 'rate_limited', 'unavailable'])
  t.equal(new HostError('timeout', 'x').retryable, true)
  t.equal(new HostError('disconnected', 'x').retryable, true)
  t.equal(new HostError('protocol_error', 'x').retryable, false)
  t.equal(new HostError('some_future_code', 'x').retryable, false)
  t.equal(new HostError('disconnected', 'closed', { retryable: false }).retryable, false, 'explicit wins')
})

t.test('fromWire', async (t) => {
  const e = HostError.fromWire({ code: 'capacity_exceeded', message: 'full', retryable: true, retry_after_ms: 900 }, 'id-7')
  t.match(e, { code: 'capacity_exceeded', message: 'full', retryable: true, retryAfterMs: 900, requestId: 'id-7' })
  t.match(HostError.fromWire({ code: 'forbidden', message: 'mine', retryable: false }), { code: 'forbidden', retryable: false, retryAfterMs: undefined })
  t.match(HostError.fromWire({ code: 'internal' }), { code: 'internal', message: 'internal', retryable: true }, 'missing retryable: by code')
  t.match(HostError.fromWire({ code: 'rate_limited', retryable: true, retry_after_ms: -5 }), { retryAfterMs: undefined }, 'nonsense hint dropped')
  for (const bad of [undefined, null, 'oops', { message: 'no code' }, { code: 7 }]) {
    t.match(HostError.fromWire(bad, 'x'), { code: 'protocol_error', retryable: false, requestId: 'x' })
  }
})

t.test('helpers', async (t) => {
  t.equal(isRetryableError(new HostError('timeout', 'x')), true)
  t.equal(isRetryableError(new HostError('forbidden', 'x')), false)
  t.equal(isRetryableError(new Error('plain')), false)
  t.equal(isRetryableError(undefined), false)
  t.equal(retryDelayMs(new HostError('rate_limited', 'x', { retryAfterMs: 42 })), 42)
  t.equal(retryDelayMs(new HostError('timeout', 'x'), 7), 7)
  t.equal(retryDelayMs(new HostError('forbidden', 'x')), undefined)
})
