// The SDK's inbound demux (sdk/src/inbound.ts) without a socket: the verdict
// readFrame gives for every kind of frame a host can send, well-formed and
// not, with the request book reduced to a lookup.
import t, { type Test } from 'tap'
import { HostError, sealJson } from '@rag-session-host/client'
import { encodeBase64, randomBytes, randomNonce } from '@rag-session-host/client/shared'
import { readFrame, type Verdict } from '../../sdk/src/inbound.js'
import type { Pending } from '../../sdk/src/requests.js'
import { pendingRequest } from './fixtures/pending.js'

const key = randomBytes(32)
const otherKey = randomBytes(32)
const info = { created: true, attempt: 1, status: 'active', vectors: 0, dims: null, history: 0, history_total: 0 }

/** Sent (100 bytes) unless a test says otherwise. */
const pending = ({ id, ...over }: Partial<Pending> & Pick<Pending, 'id'>): Pending => pendingRequest(id, { sentBytes: 100, ...over })

const sentPing = pending({ id: 'p1' })
const queuedPing = pending({ id: 'q1', sentBytes: undefined })
const sentInit = pending({ id: 'i1', kind: 'init', type: 'session_init', sessionKey: key })
const unbuiltInit = pending({ id: 'i2', kind: 'init', type: 'session_init', sessionKey: undefined, sentBytes: undefined })
const book = new Map([sentPing, queuedPing, sentInit, unbuiltInit].map((p) => [p.id, p]))
const lookup = (id: string): Pending | undefined => book.get(id)

/** `boundKey` null: the connection holds no session key. */
const read = (frame: unknown, boundKey: Uint8Array | null = key): Verdict => readFrame(typeof frame === 'string' ? frame : JSON.stringify(frame), lookup, boundKey ?? undefined)
const sealed = (plain: unknown, envelopeId: string | null, k = key): Record<string, unknown> => ({
  type: 'encrypted_message',
  id: envelopeId,
  session_id: 's1',
  ...sealJson(plain, k, randomNonce()),
})
const ack = (id: string, value: unknown, k = key): Record<string, unknown> => ({ type: 'session_init_ack', id, ok: true, ...sealJson(value, k, randomNonce()) })

/** The verdict's kind and its error (code, requestId), checked to be the package's HostError. */
function errorOf(t: Test, v: Verdict): { code: string; requestId: string | undefined } | undefined {
  if (v.kind !== 'error' && v.kind !== 'fail') return undefined
  t.ok(v.error instanceof HostError, 'the error is a HostError')
  return { code: v.error.code, requestId: v.error.requestId }
}

t.test('frames that are not JSON objects report a protocol_error that concerns no request', async (t) => {
  for (const text of ['not json', '', '[1,2]', '42', 'null', '"a string"', '{"type":']) {
    const v = read(text)
    t.equal(v.kind, 'error', `${JSON.stringify(text)}: error`)
    t.same(errorOf(t, v), { code: 'protocol_error', requestId: undefined })
  }
})

t.test('frame types this client does not know are ignored (a newer host may send them)', async (t) => {
  t.same(read({ type: 'teleport', id: 'p1' }), { kind: 'ignore' })
  t.same(read({ id: 'p1' }), { kind: 'ignore' }, 'no type at all')
  t.same(read({ type: 7, id: 'p1' }), { kind: 'ignore' }, 'a type that is not a string')
})

t.test('session_init_ack', async (t) => {
  await t.test('success binds the init key and gives the sealed info', async (t) => {
    const v = read(ack('i1', info))
    t.equal(v.kind, 'bound')
    if (v.kind !== 'bound') return
    t.equal(v.pending, sentInit)
    t.same(v.info, info)
    t.equal(v.key, key, 'the key sent with the init')
  })
  await t.test('ok:false fails the init with the host error', async (t) => {
    const v = read({ type: 'session_init_ack', id: 'i1', ok: false, error: { code: 'forbidden', message: 'mine', retryable: false } })
    t.equal(v.kind, 'fail')
    if (v.kind !== 'fail') return
    t.equal(v.pending, sentInit)
    t.match(v.error, { code: 'forbidden', message: 'mine', retryable: false, requestId: 'i1' })
  })
  await t.test('an ack that does not open with K: decrypt_failed', async (t) => {
    const v = read(ack('i1', info, otherKey))
    t.equal(v.kind, 'fail')
    t.same(errorOf(t, v), { code: 'decrypt_failed', requestId: 'i1' })
  })
  await t.test('malformed acks fail the init with protocol_error', async (t) => {
    const cases: [string, unknown][] = [
      ['info missing a field', ack('i1', { ...info, history_total: undefined })],
      ['info with a negative count', ack('i1', { ...info, vectors: -1 })],
      ['info that is not an object', ack('i1', [info])],
      ['no ok', { type: 'session_init_ack', id: 'i1', ...sealJson(info, key, randomNonce()) }],
      ['ok:false without an error code', { type: 'session_init_ack', id: 'i1', ok: false, error: { message: 'x' } }],
      ['a nonce of the wrong size', { ...ack('i1', info), nonce: encodeBase64(randomBytes(23)) }],
      ['ciphertext that is not base64', { ...ack('i1', info), ciphertext: 'not base64!' }],
    ]
    for (const [name, frame] of cases) {
      const v = read(frame)
      t.equal(v.kind, 'fail', `${name}: fail`)
      t.same(errorOf(t, v), { code: 'protocol_error', requestId: 'i1' }, name)
    }
  })
  await t.test('acks that answer no init in flight are ignored', async (t) => {
    t.same(read(ack('nobody', info)), { kind: 'ignore' }, 'unknown id')
    t.same(read(ack('p1', info)), { kind: 'ignore' }, 'the id of a request, not an init')
    t.same(read(ack('i2', info)), { kind: 'ignore' }, 'an init whose key is not built yet')
    t.same(read({ type: 'session_init_ack', ok: true }), { kind: 'ignore' }, 'no id')
  })
})

t.test('plaintext error frames', async (t) => {
  const wire = { code: 'replayed', message: 'the nonce counter did not increase', retryable: false }
  await t.test('with the id of a request sent: fails that request', async (t) => {
    const v = read({ type: 'error', id: 'p1', ok: false, error: wire })
    t.equal(v.kind, 'fail')
    if (v.kind !== 'fail') return
    t.equal(v.pending, sentPing)
    t.match(v.error, { ...wire, requestId: 'p1' })
  })
  await t.test('with id null: an error that concerns no request', async (t) => {
    const v = read({ type: 'error', id: null, ok: false, error: { code: 'bad_request', message: 'frame is not JSON', retryable: false } })
    t.equal(v.kind, 'error')
    t.same(errorOf(t, v), { code: 'bad_request', requestId: undefined })
  })
  await t.test('with the id of nothing sent: ignored', async (t) => {
    t.same(read({ type: 'error', id: 'gone', ok: false, error: wire }), { kind: 'ignore' }, 'a request already settled')
    t.same(read({ type: 'error', id: 'q1', ok: false, error: wire }), { kind: 'ignore' }, 'a request still queued')
  })
  await t.test('an error without a code fails the request with protocol_error', async (t) => {
    for (const error of [undefined, null, 'oops', { message: 'no code' }, { code: 5 }]) {
      const v = read({ type: 'error', id: 'p1', ok: false, error })
      t.equal(v.kind, 'fail', JSON.stringify(error))
      t.same(errorOf(t, v), { code: 'protocol_error', requestId: 'p1' })
    }
  })
})

t.test('sealed replies', async (t) => {
  await t.test('ok:true of the matching type settles the request with its fields', async (t) => {
    const v = read(sealed({ type: 'pingResponse', id: 'p1', ok: true, ts: 1763700000000 }, 'p1'))
    t.equal(v.kind, 'reply')
    if (v.kind !== 'reply') return
    t.equal(v.pending, sentPing)
    t.same(v.fields, { ts: 1763700000000 }, 'without type, id and ok')
  })
  await t.test('correlated by the authenticated id inside, not the envelope id', async (t) => {
    const v = read(sealed({ type: 'pingResponse', id: 'p1', ok: true, ts: 1 }, 'someone-else'))
    t.equal(v.kind, 'reply')
    t.equal(v.kind === 'reply' && v.pending, sentPing)
    t.same(read(sealed({ type: 'pingResponse', id: 'nobody', ok: true, ts: 1 }, 'p1')), { kind: 'ignore' }, 'an inner id of nothing pending')
  })
  await t.test('ok:false fails the request with the host error', async (t) => {
    const v = read(sealed({ type: 'pingResponse', id: 'p1', ok: false, error: { code: 'rate_limited', message: 'slow', retryable: true, retry_after_ms: 961 } }, 'p1'))
    t.equal(v.kind, 'fail')
    if (v.kind !== 'fail') return
    t.equal(v.pending, sentPing)
    t.match(v.error, { code: 'rate_limited', retryable: true, retryAfterMs: 961, requestId: 'p1' })
  })
  await t.test('a reply of the wrong shape fails the request with protocol_error', async (t) => {
    for (const [name, plain] of [
      ['the type of another operation', { type: 'sessionInfoResponse', id: 'p1', ok: true }],
      ['no ok', { type: 'pingResponse', id: 'p1', ts: 1 }],
      ['ok that is not a boolean', { type: 'pingResponse', id: 'p1', ok: 'yes' }],
    ] as const) {
      const v = read(sealed(plain, 'p1'))
      t.equal(v.kind, 'fail', name)
      t.same(errorOf(t, v), { code: 'protocol_error', requestId: 'p1' }, name)
    }
  })
  await t.test('replies to nothing sent are ignored (late replies after a timeout)', async (t) => {
    t.same(read(sealed({ type: 'pingResponse', id: 'gone', ok: true, ts: 1 }, 'gone')), { kind: 'ignore' }, 'settled')
    t.same(read(sealed({ type: 'pingResponse', id: 'q1', ok: true, ts: 1 }, 'q1')), { kind: 'ignore' }, 'still queued')
    t.same(read(sealed({ type: 'session_initResponse', id: 'i1', ok: true }, 'i1')), { kind: 'ignore' }, 'an init is answered by its ack only')
    t.same(read(sealed({ type: 'pingResponse', ok: true, ts: 1 }, 'p1')), { kind: 'ignore' }, 'no inner id')
  })
})

t.test('sealed frames that cannot be read', async (t) => {
  const reply = { type: 'pingResponse', id: 'p1', ok: true, ts: 1 }
  const cases: [string, Record<string, unknown>, Uint8Array | null, string][] = [
    ['no session key on the connection', sealed(reply, 'p1'), null, 'protocol_error'],
    ['sealed under another key', sealed(reply, 'p1', otherKey), key, 'decrypt_failed'],
    ['a changed ciphertext byte', { ...sealed(reply, 'p1'), ciphertext: flipFirstByte(sealed(reply, 'p1').ciphertext as string) }, key, 'decrypt_failed'],
    ['a ciphertext shorter than the MAC', { ...sealed(reply, 'p1'), ciphertext: encodeBase64(randomBytes(8)) }, key, 'decrypt_failed'],
    ['a nonce that is not base64 of 24 bytes', { ...sealed(reply, 'p1'), nonce: 'AAAA' }, key, 'protocol_error'],
    ['no ciphertext', { ...sealed(reply, 'p1'), ciphertext: undefined }, key, 'protocol_error'],
    ['plaintext that is not a JSON object', sealed([reply], 'p1'), key, 'protocol_error'],
    [
      'plaintext that is not JSON',
      { type: 'encrypted_message', id: 'p1', session_id: 's1', ...sealJson(new TextEncoder().encode('{nope'), key, randomNonce()) },
      key,
      'protocol_error',
    ],
    [
      'plaintext that is not UTF-8',
      { type: 'encrypted_message', id: 'p1', session_id: 's1', ...sealJson(new Uint8Array([0x7b, 0xff, 0x7d]), key, randomNonce()) },
      key,
      'protocol_error',
    ],
  ]
  for (const [name, frame, boundKey, code] of cases) {
    await t.test(name, async (t) => {
      const v = read(frame, boundKey)
      t.equal(v.kind, 'fail', 'with the envelope id of a request sent: fails it')
      t.equal(v.kind === 'fail' && v.pending, sentPing)
      t.same(errorOf(t, v), { code, requestId: boundKey === null ? undefined : 'p1' })
      const alone = read({ ...frame, id: null }, boundKey)
      t.equal(alone.kind, 'error', 'with id null: an error that concerns no request')
      t.equal(errorOf(t, alone)?.code, code)
      const queued = read({ ...frame, id: 'q1' }, boundKey)
      t.equal(queued.kind, 'error', 'with the id of a request not sent yet: it is not blamed')
    })
  }
})

t.test('notices', async (t) => {
  for (const status of ['ended', 'evicted', 'shutting_down'] as const) {
    const v = read(sealed({ type: 'session_status', status, reason: 'why' }, null))
    t.same(v, { kind: 'notice', notice: { type: 'session_status', status, reason: 'why' } }, status)
  }
  t.same(
    read(sealed({ type: 'session_status', status: 'evicted', id: null }, null)),
    { kind: 'notice', notice: { type: 'session_status', status: 'evicted', reason: '' } },
    'a missing reason is empty',
  )
  t.same(
    read(sealed({ type: 'session_status', status: 'evicted', reason: 7 }, null)),
    { kind: 'notice', notice: { type: 'session_status', status: 'evicted', reason: '' } },
    'a reason that is not a string is empty',
  )
  for (const status of ['paused', undefined, 3]) {
    const v = read(sealed({ type: 'session_status', status, reason: 'x' }, null))
    t.equal(v.kind, 'error', `status ${JSON.stringify(status)}: error`)
    t.same(errorOf(t, v), { code: 'protocol_error', requestId: undefined })
  }
  const withId = read(sealed({ type: 'session_status', id: 'p1', status: 'ended' }, 'p1'))
  t.equal(withId.kind, 'fail', 'a session_status with an id is no notice: as a reply to that id it is malformed')
  t.same(errorOf(t, withId), { code: 'protocol_error', requestId: 'p1' })
})

function flipFirstByte(b64: string): string {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
  bytes[0] = (bytes[0] ?? 0) ^ 1
  return encodeBase64(bytes)
}
