// Strict base64 and UTF-8 of the shared module (sdk/src/shared/encoding.ts),
// on both of its paths: Node's Buffer, and the atob/btoa path browsers take.
// The browser path is the same source, bundled and run in a vm context that
// has atob, btoa and TextEncoder/TextDecoder but no Buffer.
import t from 'tap'
import { build } from 'esbuild'
import { runInContext, createContext } from 'node:vm'
import { fileURLToPath } from 'node:url'
import * as nodeCodec from '@rag-session-host/client/shared'

type Codec = Pick<typeof nodeCodec, 'decodeBase64' | 'encodeBase64' | 'encodeBase64Url' | 'decodeBase64Url' | 'decodeUtf8' | 'encodeUtf8' | 'utf8Length'>

const source = fileURLToPath(new URL('../../sdk/src/shared/encoding.ts', import.meta.url))
const bundled = await build({ entryPoints: [source], bundle: true, format: 'iife', globalName: 'codec', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })
let atobCalls = 0
let btoaCalls = 0
const browserGlobals = {
  atob: (s: string): string => (atobCalls++, atob(s)),
  btoa: (s: string): string => (btoaCalls++, btoa(s)),
  TextEncoder,
  TextDecoder,
}
const context = createContext(browserGlobals)
const browserCodec = runInContext(`${bundled.outputFiles[0]?.text ?? ''}\ncodec`, context) as Codec

const codecs: [string, Codec][] = [
  ['Buffer path', nodeCodec],
  ['browser path', browserCodec],
]

/** Bytes as a plain array, so values from the vm context compare with ours. */
const arr = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : Array.from(b))

const seeded = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + ((i * i) >> 3)) & 0xff)

t.test('the browser path really runs without Buffer', async (t) => {
  t.equal(runInContext('typeof Buffer', context), 'undefined')
  const before = [atobCalls, btoaCalls]
  t.same(arr(browserCodec.decodeBase64('AAEC')), [0, 1, 2])
  t.ok(atobCalls > (before[0] ?? 0) && btoaCalls > (before[1] ?? 0), 'it decodes with atob and checks with btoa')
})

for (const [name, codec] of codecs) {
  t.test(`${name}: standard base64 with padding decodes`, async (t) => {
    const cases: [string, number[]][] = [
      ['', []],
      ['AA==', [0]],
      ['AAA=', [0, 0]],
      ['AAAA', [0, 0, 0]],
      ['+/8=', [0xfb, 0xff]],
      ['//79', [0xff, 0xfe, 0xfd]],
      ['aGk=', [0x68, 0x69]],
    ]
    for (const [text, bytes] of cases) t.same(arr(codec.decodeBase64(text)), bytes, JSON.stringify(text))
    for (let n = 0; n <= 70; n++) {
      const bytes = seeded(n, n)
      const text = codec.encodeBase64(bytes)
      if (text !== nodeCodec.encodeBase64(bytes)) t.fail(`${n} bytes: encodes like Buffer`)
      if (JSON.stringify(arr(codec.decodeBase64(text))) !== JSON.stringify(Array.from(bytes))) t.fail(`${n} bytes: round trip`)
    }
    t.pass('0 to 70 bytes: same text as Buffer, round trip')
    const big = seeded(300_000, 9)
    const back = codec.decodeBase64(codec.encodeBase64(big))
    t.ok(back !== undefined && back.length === big.length && back.every((b, i) => b === big[i]), '300 000 bytes (past the 32 KiB chunking) round trip')
    const window = seeded(40, 3).subarray(5, 29)
    t.equal(codec.encodeBase64(window), nodeCodec.encodeBase64(Uint8Array.from(window)), 'a subarray encodes only its own bytes')
  })

  t.test(`${name}: everything that is not strict base64 is refused`, async (t) => {
    const refused: [string, unknown][] = [
      ['junk character', 'AAA*'],
      ['junk in the middle', 'AA!AAAAA'],
      ['base64url alphabet', '-_8='],
      ['base64url, no padding', 'aGk'],
      ['missing padding', 'AA'],
      ['too much padding', 'A==='],
      ['padding inside', 'AA=A'],
      ['padding first', '=AAA'],
      ['extra padding block', 'AAAA===='],
      ['non-zero unused bits', 'AB=='],
      ['non-zero unused bits (two bytes)', 'AAB='],
      ['whitespace inside', 'AAAA AAA'],
      ['trailing newline', 'AAA=\n'],
      ['leading space', ' AAA'],
      ['non-ASCII', 'ÀÀÀÀ'],
      ['a number', 1234],
      ['null', null],
      ['undefined', undefined],
      ['bytes', new Uint8Array(4)],
    ]
    for (const [why, value] of refused) t.equal(codec.decodeBase64(value), undefined, why)
  })

  t.test(`${name}: an expected length is enforced`, async (t) => {
    const key = codec.encodeBase64(seeded(32, 1))
    t.equal(codec.decodeBase64(key, 32)?.length, 32)
    t.equal(codec.decodeBase64(key, 31), undefined, 'one byte fewer expected')
    t.equal(codec.decodeBase64(key, 33), undefined, 'one byte more expected')
    t.equal(codec.decodeBase64(codec.encodeBase64(seeded(24, 2)), 32), undefined, '24 bytes where 32 are expected')
    t.equal(codec.decodeBase64('AA==', 0), undefined)
    t.same(arr(codec.decodeBase64('', 0)), [])
  })

  t.test(`${name}: base64url for JWK`, async (t) => {
    for (const n of [0, 1, 2, 3, 31, 32, 64]) {
      const bytes = seeded(n, 5)
      const url = codec.encodeBase64Url(bytes)
      t.notMatch(url, /[+/=]/, `${n} bytes: no + / or =`)
      t.same(arr(codec.decodeBase64Url(url)), Array.from(bytes), `${n} bytes: round trip`)
    }
    t.same(arr(codec.decodeBase64Url('-_8')), [0xfb, 0xff])
    t.equal(codec.decodeBase64Url('a*'), undefined, 'junk is refused')
  })

  t.test(`${name}: strict UTF-8`, async (t) => {
    for (const text of ['', 'hello', 'é', '日本語', '😀 emoji', '\u0000']) {
      t.equal(codec.decodeUtf8(codec.encodeUtf8(text)), text, `round trip ${JSON.stringify(text)}`)
      t.equal(codec.utf8Length(text), new TextEncoder().encode(text).length, `length of ${JSON.stringify(text)}`)
    }
    t.equal(codec.utf8Length('\ud800'), 3, 'a lone surrogate counts as U+FFFD, as it is sent')
    const invalid: [string, number[]][] = [
      ['a lone continuation byte', [0x80]],
      ['a truncated sequence', [0xe6, 0x97]],
      ['an overlong encoding', [0xc0, 0xaf]],
      ['a surrogate', [0xed, 0xa0, 0x80]],
      ['0xff', [0x7b, 0xff, 0x7d]],
    ]
    for (const [why, bytes] of invalid) t.equal(codec.decodeUtf8(Uint8Array.from(bytes)), undefined, `${why} is refused, not replaced`)
  })
}
