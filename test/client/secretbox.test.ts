// The SDK's two secretbox implementations (sdk/src/crypto/tweetnacl.ts and
// sdk/src/node/sodium-secretbox.ts) make the same boxes and refuse the same
// ones, and the Node entry picks sodium-native when it loads and tweetnacl
// when it does not. Both are internal modules, so they are imported by path.
import t from 'tap'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import sodium from 'sodium-native'
import { SessionClient, openSealed, sealJson } from '@rag-session-host/client'
import { naclSecretbox } from '../../sdk/src/crypto/tweetnacl.js'
import type { Secretbox } from '../../sdk/src/crypto/types.js'
import { sodiumSecretbox } from '../../sdk/src/node/sodium-secretbox.js'
import { platform } from '../../sdk/src/platform.js'
import { startHost } from '../helpers/host.js'

const sodiumBox = sodiumSecretbox(sodium)
const impls: [string, Secretbox][] = [
  ['tweetnacl', naclSecretbox],
  ['sodium', sodiumBox],
]

const same = (a: Uint8Array | null, b: Uint8Array): boolean => a !== null && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

/** `n` random bytes as a view at an odd offset into a larger buffer: a copy-free Buffer view must honour byteOffset. */
function randomView(n: number): Uint8Array {
  const backing = new Uint8Array(randomBytes(n + 8))
  return backing.subarray(3, 3 + n)
}

t.test('sodium and tweetnacl make the same boxes and open each other’s', async (t) => {
  for (const size of [0, 1, 15, 16, 17, 1000, 65536, 2 * 1024 * 1024 + 3]) {
    const [message, nonce, key] = [randomView(size), randomView(24), randomView(32)]
    const fromNacl = naclSecretbox.seal(message, nonce, key)
    const fromSodium = sodiumBox.seal(message, nonce, key)
    t.equal(fromSodium.length, size + 16, `${size} bytes: MAC and ciphertext`)
    t.ok(same(fromSodium, fromNacl), `${size} bytes: identical boxes`)
    t.ok(same(sodiumBox.open(fromNacl, nonce, key), message), `${size} bytes: sodium opens tweetnacl's box`)
    t.ok(same(naclSecretbox.open(fromSodium, nonce, key), message), `${size} bytes: tweetnacl opens sodium's box`)
  }
})

for (const [name, impl] of impls) {
  t.test(`${name}: open answers null, never throws, for a box that does not authenticate`, async (t) => {
    const [nonce, key] = [randomView(24), randomView(32)]
    const box = impl.seal(new Uint8Array(randomBytes(100)), nonce, key)
    for (const at of [0, 15, 16, box.length - 1]) {
      const tampered = box.slice()
      tampered[at]! ^= 1
      t.equal(impl.open(tampered, nonce, key), null, `a byte changed at ${at}`)
    }
    t.equal(impl.open(box, nonce, randomView(32)), null, 'a wrong key')
    t.equal(impl.open(box, randomView(24), key), null, 'a wrong nonce')
    t.equal(impl.open(box.subarray(0, 16), nonce, key), null, 'the MAC alone')
    for (const length of [0, 15]) t.equal(impl.open(box.subarray(0, length), nonce, key), null, `${length} bytes, shorter than the MAC`)
    t.ok(impl.open(box, nonce, key), 'the untouched box still opens')
  })

  t.test(`${name}: a bad key or nonce size throws tweetnacl's error`, async (t) => {
    const message = new Uint8Array(3)
    t.throws(() => impl.seal(message, new Uint8Array(24), new Uint8Array(31)), { message: 'bad key size' })
    t.throws(() => impl.seal(message, new Uint8Array(23), new Uint8Array(32)), { message: 'bad nonce size' })
    t.throws(() => impl.open(new Uint8Array(20), new Uint8Array(24), new Uint8Array(33)), { message: 'bad key size' })
    t.throws(() => impl.open(new Uint8Array(20), new Uint8Array(25), new Uint8Array(32)), { message: 'bad nonce size' })
  })
}

t.test('a sodium-native that does not agree with tweetnacl is refused at load', async (t) => {
  t.throws(() => sodiumSecretbox({ crypto_secretbox_easy: () => undefined, crypto_secretbox_open_easy: () => true }), /disagrees with tweetnacl/)
  t.throws(() => sodiumSecretbox({} as never), TypeError, 'an API without these functions')
})

t.test('the Node entry runs sodium-native, and a SessionClient says so', async (t) => {
  t.equal(platform().secretbox.name, 'sodium', 'the platform installed by the Node entry')
  const [key, nonce] = [randomView(32), randomView(24)]
  const sealed = sealJson({ hello: 'world' }, key, nonce)
  t.same(openSealed(sealed, key), { hello: 'world' }, 'sealJson and openSealed go through it')

  // The host seals and opens with tweetnacl: a whole session proves the two interoperate.
  const host = await startHost(t)
  const client = await SessionClient.connect(host.url, { reconnect: { enabled: false } })
  t.teardown(() => client.close())
  t.equal(client.secretboxBackend, 'sodium')
  t.equal(client.cryptoBackend, 'node', 'next to the X25519/Ed25519 backend')
  await client.openSession('secretbox-sodium')
  await client.appendMessage('user', 'x'.repeat(30_000))
  t.equal((await client.getHistory()).messages[0]?.content.length, 30_000, 'a sealed request and a sealed reply')
})

t.test('without sodium-native, the Node entry keeps tweetnacl silently', async (t) => {
  const repo = fileURLToPath(new URL('../..', import.meta.url))
  // Makes require('sodium-native') fail as it does where the optional dependency was not installed.
  const hide = `import Module from 'node:module'
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request === 'sodium-native') throw Object.assign(new Error('Cannot find module sodium-native'), { code: 'MODULE_NOT_FOUND' })
  return resolve.call(this, request, ...rest)
}`
  const script = `const sdk = await import('@rag-session-host/client')
const { platform } = await import(${JSON.stringify(pathToFileURL(`${repo}sdk/src/platform.ts`).href)})
const key = new Uint8Array(32).fill(1)
const opened = sdk.openSealed(sdk.sealJson({ n: 1 }, key, new Uint8Array(24)), key)
console.log(JSON.stringify({ name: platform().secretbox.name, opened }))`
  // After tsx, which resolves CommonJS requests itself.
  const args = ['--import=./test/loader/tsx.mjs', `--import=data:text/javascript,${encodeURIComponent(hide)}`, '--conditions=rsh-source', '--input-type=module', '-e', script]
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: repo, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr })))
  })
  t.same(JSON.parse(stdout), { name: 'tweetnacl', opened: { n: 1 } })
  t.equal(stderr, '', 'nothing printed about the missing package')
})
