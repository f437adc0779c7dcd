// An uploadVectors in a frame of CRYPTO_OFFLOAD_BYTES or more has its
// plaintext parsed and its items checked on the frame worker
// (dispatch/plaintext.ts, vectors/item-check.ts). It must answer exactly as
// the inline path does, item for item, and store the same vectors; and the
// checks that need the session's state (dimension, limits, budget) still run
// against the state at the time the request is carried out.
import t, { type Test } from 'tap'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const b64 = (values: number[]): string => encodeBase64(new Uint8Array(new Float32Array(values).buffer))

/** Every kind of item: accepted (array and base64), each rejection of §4.1, in an order that tests their ranking. */
const ITEMS = [
  { id: 'a', vector: [1, 0, 0], metadata: { n: 1 } },
  { id: 'b', vector_b64: b64([0, 2, 0]) },
  null,
  'not an item',
  { id: 7, vector: [1, 1, 1] },
  { id: '', vector: [1, 1, 1] },
  { id: 'x'.repeat(300), vector: [1, 1, 1] },
  { id: 'both', vector: [1, 0, 0], vector_b64: b64([1, 0, 0]) },
  { id: 'zeros', vector: [0, 0, 0] },
  { id: 'nan', vector: [1, 'two', 3] },
  { id: 'bad64', vector_b64: 'abc' },
  { id: 'wide', vector: [1, 0, 0, 0], metadata: 'also bad' },
  { id: 'meta', vector: [0, 0, 1], metadata: [1] },
  { id: 'big-meta', vector: [0, 0, 1], metadata: { s: 'm'.repeat(300) } },
  { id: 'a', vector: [0, 0, 3], metadata: { n: 2 } },
  { id: 'c', vector: [0, 1, 1] },
  { id: 'over', vector: [1, 1, 0] },
]

async function host(t: Test) {
  // Room for three vectors, so the session limit speaks too; small metadata so it can be too big.
  const h = await startHost(t, { maxVectorsPerSession: 3, maxMetadataBytes: 200, maxDims: 64 })
  const open = async (sessionId: string) => {
    const wire = await Wire.open(h.wsUrl, h.hostPublicKey)
    await wire.init({ sessionId, identity: generateIdentity() })
    return wire
  }
  return { h, open }
}

async function offloaded(h: Awaited<ReturnType<typeof host>>['h']): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text()
  return Number(/rsh_offloaded_frames_total\{outcome="opened"\} (\d+)/.exec(text)?.[1] ?? 0)
}

t.test('an upload checked on the worker answers and stores exactly what the inline path does', async (t) => {
  const { h, open } = await host(t)
  const inline = await open('inline')
  const worker = await open('worker')
  const pad = 'p'.repeat(h.config.cryptoOffloadBytes)

  const before = await offloaded(h)
  const small = inline.seal('uploadVectors', { vectors: ITEMS }, 'u1')
  inline.send(small)
  const viaInline = inline.open(await inline.reply('u1'))
  t.equal(await offloaded(h), before, 'the small frame was handled inline')

  // The same plaintext in a frame made big by an envelope field: the worker path.
  worker.send({ ...worker.seal('uploadVectors', { vectors: ITEMS }, 'u1'), pad })
  const viaWorker = worker.open(await worker.reply('u1'))
  t.equal(await offloaded(h), before + 1, 'the big frame was opened and read on the worker')

  t.same(viaWorker, viaInline, 'the same reply, item for item')
  t.match(viaInline, { ok: true, uploaded: 4, total: 3, dims: 3 })
  t.same(
    viaInline.rejected.map((r: { id: string | null; code: string }) => [r.id, r.code]),
    [
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      ['', 'invalid_id'],
      ['x'.repeat(300), 'invalid_id'],
      ['both', 'invalid_vector'],
      ['zeros', 'invalid_vector'],
      ['nan', 'invalid_vector'],
      ['bad64', 'invalid_vector'],
      ['wide', 'dimension_mismatch'], // the dimension outranks its bad metadata
      ['meta', 'invalid_metadata'],
      ['big-meta', 'invalid_metadata'],
      ['over', 'limit_exceeded'],
    ],
  )
  for (const q of [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]) {
    const a = await inline.request('searchVectors', { vector: q, k: 3 })
    const b = await worker.request('searchVectors', { vector: q, k: 3 })
    t.same(b.results, a.results, `the same vectors stored (query ${q.join(',')})`)
  }
  const found = await worker.request('searchVectors', { vector: [0, 0, 1], k: 1 })
  t.match(found.results, [{ id: 'a', metadata: { n: 2 } }], 'the later item of an id wins')
})

t.test('the state checks of a worker-checked upload see the session as it is when the request runs', async (t) => {
  const { h, open } = await host(t)
  const wire = await open('s')
  const pad = 'p'.repeat(h.config.cryptoOffloadBytes)
  // Sent back to back: the first fixes the dimension (2) before the second, checked on the worker meanwhile, is planned.
  wire.send(wire.seal('uploadVectors', { vectors: [{ id: 'two', vector: [1, 1] }] }, 'first'))
  wire.send({
    ...wire.seal(
      'uploadVectors',
      {
        vectors: [
          { id: 'three', vector: [1, 1, 1] },
          { id: 'also-two', vector: [0, 1] },
        ],
      },
      'second',
    ),
    pad,
  })
  t.match(wire.open(await wire.reply('first')), { ok: true, uploaded: 1, dims: 2 })
  const second = wire.open(await wire.reply('second'))
  t.match(second, { ok: true, uploaded: 1, total: 2, dims: 2 })
  t.same(
    second.rejected.map((r: { id: string; code: string }) => [r.id, r.code]),
    [['three', 'dimension_mismatch']],
  )
})

t.test('a big upload whose vectors are not a batch gets the inline errors, and nothing is stored', async (t) => {
  const { h, open } = await host(t)
  const wire = await open('s')
  const pad = 'p'.repeat(h.config.cryptoOffloadBytes)
  const send = async (fields: Record<string, unknown>, id: string) => {
    wire.send({ ...wire.seal('uploadVectors', fields, id), pad })
    return wire.open(await wire.reply(id))
  }
  t.match(await send({ vectors: 'nope' }, 'e1'), { ok: false, error: { code: 'bad_request' } })
  t.match(await send({ vectors: Array.from({ length: h.config.maxBatch + 1 }, (_, i) => ({ id: `v${i}`, vector: [1] })) }, 'e2'), {
    ok: false,
    error: { code: 'limit_exceeded' },
  })
  t.match(await send({ vectors: [{ id: 'v', vector: [1] }], replace: 'yes' }, 'e3'), { ok: false, error: { code: 'bad_request' } })
  const info = await wire.request('searchVectors', { vector: [1], k: 1 })
  t.same(info.results, [], 'nothing stored')
})
