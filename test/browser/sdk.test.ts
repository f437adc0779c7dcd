// The SDK's browser bundle (sdk/dist/bundle/client.browser.js) in headless
// Chromium, from a page on another origin than the host, against a real host
// on 127.0.0.1: a session with history and vectors, the same identity from a
// second page, a second identity refused, the host dropping the socket, a
// closed tab (pagehide) leaving the session `detached`, and the origin checks
// (CORS_ORIGINS, ALLOWED_ORIGINS) as a browser meets them.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import type * as Sdk from '@rag-session-host/client'
import { bundleFiles } from '../../examples/browser/files.js'
import { startStaticServer } from '../../examples/browser/static-server.js'
import { startHost } from '../helpers/host.js'
import { bruteForce } from '../vectors/fixtures/engine.js'
import { browserSuite, launchBrowser } from './chromium.js'

/** What the test page puts on globalThis (and what the evaluated functions keep there). */
interface PageGlobals {
  sdk: typeof Sdk
  client: Sdk.SessionClient
  disconnected: Promise<[Sdk.DisconnectInfo]>
  reconnected: Promise<[Sdk.SessionInitInfo | null]>
}

const pageFiles = { '/index.html': fileURLToPath(new URL('fixtures/sdk-page.html', import.meta.url)), ...bundleFiles }

const SESSION = 'browser-notes'
const DIMS = 32
const COUNT = 300
const GROUPS = ['a', 'b', 'c'] as const
const MESSAGES = [
  ['user', 'What do the notes say about tides?'],
  ['assistant', 'They rise twice a day — über die Gezeiten 🌊'],
  ['user', 'And the moon?'],
] as const

/** Deterministic vectors (mulberry32), so the host's answers can be checked against a reference ranking. */
function makeRows(): { id: string; vector: number[]; metadata: { group: string; n: number } }[] {
  let s = 0x5eed
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) | 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
  return Array.from({ length: COUNT }, (_, n) => ({
    id: `v${n}`,
    vector: Array.from({ length: DIMS }, () => rnd() * 2 - 1),
    metadata: { group: GROUPS[n % 3]!, n },
  }))
}

browserSuite(t, 'SDK bundle in Chromium', () => {
  const rows = makeRows()
  const byId = new Map(rows.map((r) => [r.id, r.vector]))
  const meta = new Map(rows.map((r) => [r.id, r.metadata]))
  const query = rows[42]!.vector // group 'a'
  const searches = [
    { k: 5, filter: { group: 'a' } },
    { k: 7, filter: { $and: [{ group: 'b' }, { n: { $gte: 150 } }] } },
  ]
  const expected = [bruteForce(byId, query, 5, (id) => meta.get(id)!.group === 'a'), bruteForce(byId, query, 7, (id) => meta.get(id)!.group === 'b' && meta.get(id)!.n >= 150)]

  t.test('a session from a page on another origin: history, vectors, filtered search, re-init, forbidden, reconnect, pagehide', async (t) => {
    const pages = await startStaticServer(pageFiles)
    t.teardown(() => pages.close())
    // Both origin settings name the page's origin: the browser's CORS check and the upgrade check must pass.
    const host = await startHost(t, { corsOrigins: pages.url, allowedOrigins: pages.url })
    t.not(new URL(pages.url).origin, new URL(host.url).origin, 'the page is served from another origin than the host')
    const browser = await launchBrowser(t)

    // Page A: a new identity, a session, messages and vectors.
    const pageA = await browser.open(`${pages.url}/`)
    const a = await pageA.evaluate(
      async ({ hostUrl, session, messages, rows, query, searches }) => {
        const w = globalThis as unknown as PageGlobals
        const identity = w.sdk.generateIdentity()
        const client = await w.sdk.SessionClient.connect(hostUrl, { identity: w.sdk.identityFromSecretKey(identity.secretKey) })
        w.client = client
        const info = await client.openSession(session)
        const appended = []
        for (const [role, content] of messages) appended.push(await client.appendMessage(role, content))
        // Half as Float32Array (sent as vector_b64), in two batches.
        const items = rows.map((r, i) => ({ ...r, vector: i % 2 === 0 ? new Float32Array(r.vector) : r.vector }))
        const uploads = [await client.uploadVectors(items.slice(0, 150)), await client.uploadVectors(items.slice(150))]
        const found = []
        for (const opts of searches) found.push(await client.searchVectors(new Float32Array(query), opts))
        const history = await client.getHistory()
        return { identity, info, appended, uploads, found, history, backend: client.cryptoBackend, hostInfo: client.hostInfo }
      },
      { hostUrl: host.url, session: SESSION, messages: MESSAGES, rows, query, searches },
    )
    t.equal(a.backend, 'webcrypto', 'Chromium has X25519 and Ed25519 in WebCrypto: no tweetnacl fallback')
    t.equal(a.hostInfo?.protocol, 1, 'GET /v1/host read across origins (CORS)')
    t.match(a.info, { created: true, attempt: 1, status: 'active', vectors: 0, history: 0 })
    t.same(
      a.appended.map((r) => r.seq),
      [1, 2, 3],
    )
    t.match(a.uploads, [
      { uploaded: 150, rejected: [], total: 150, dims: DIMS },
      { uploaded: 150, rejected: [], total: COUNT, dims: DIMS },
    ])
    t.same(
      a.history.messages.map((m) => [m.role, m.content]),
      MESSAGES.map(([role, content]) => [role, content]),
      'history round-trips, non-ASCII included',
    )
    t.equal(a.found[0]!.exact, true)
    t.same(
      a.found[0]!.results.map((r) => r.id),
      expected[0],
      'filtered search: the reference ranking among group a',
    )
    t.equal(a.found[0]!.results[0]!.id, 'v42')
    t.ok(Math.abs(a.found[0]!.results[0]!.score - 1) < 1e-5, 'the query vector itself scores 1')
    t.same(
      a.found[1]!.results.map((r) => r.id),
      expected[1],
      'an $and filter with a range: the reference ranking',
    )
    for (const r of a.found[1]!.results) t.ok(r.metadata?.group === 'b' && Number(r.metadata?.n) >= 150, `${r.id} passes the filter`)

    const session = host.server.ctx.sessions.get(SESSION)
    t.equal(session?.owner, a.identity.publicKey, 'the session belongs to the page identity')
    t.equal(session?.history.total, 3)

    // Closing the tab fires pagehide: the SDK closes normally (1000) and the session goes detached.
    const [connA] = [...session!.connections]
    await pageA.close()
    const closed = await host.log.waitFor('connection.closed', { conn_id: connA })
    t.equal(closed.code, 1000, 'pagehide closed the socket normally (a closing tab alone sends 1001)')
    await host.log.waitFor('session.detached', { session_id: SESSION })
    t.equal(session?.status, 'detached')
    t.equal(session?.connections.size, 0)

    // Page B: the same identity, rebuilt from its secret key, finds everything.
    const pageB = await browser.open(`${pages.url}/`)
    const b = await pageB.evaluate(
      async ({ hostUrl, session, secretKey, query, searches }) => {
        const w = globalThis as unknown as PageGlobals
        const client = await w.sdk.SessionClient.connect(hostUrl, { identity: w.sdk.identityFromSecretKey(secretKey), reconnect: { initialDelayMs: 20, maxDelayMs: 200 } })
        w.client = client
        const info = await client.openSession(session)
        const history = await client.getHistory()
        const found = []
        for (const opts of searches) found.push(await client.searchVectors(query, opts))
        return { info, history, found, publicKey: client.identity.publicKey }
      },
      { hostUrl: host.url, session: SESSION, secretKey: a.identity.secretKey, query, searches },
    )
    t.equal(b.publicKey, a.identity.publicKey)
    t.match(b.info, { created: false, attempt: 1, status: 'active', vectors: COUNT, dims: DIMS, history: 3 })
    t.same(b.history, a.history, 'the whole history, as page A saw it')
    t.same(
      b.found.map((f) => f.results.map((r) => r.id)),
      expected,
      'the same search results',
    )
    t.equal(session?.status, 'active')

    // A second identity is refused with forbidden, as a HostError, and takes nothing away.
    const thief = await pageB.evaluate(
      async ({ hostUrl, session }) => {
        const w = globalThis as unknown as PageGlobals
        const other = await w.sdk.SessionClient.connect(hostUrl)
        const err = await other.openSession(session).then(
          () => undefined,
          (e: unknown) => e as Sdk.HostError,
        )
        await other.close()
        const history = await w.client.getHistory()
        return { isHostError: err instanceof w.sdk.HostError, name: err?.name, code: err?.code, retryable: err?.retryable, ownerMessages: history.messages.length }
      },
      { hostUrl: host.url, session: SESSION },
    )
    t.same(thief, { isHostError: true, name: 'HostError', code: 'forbidden', retryable: false, ownerMessages: 3 })

    // The host drops page B's socket: the SDK reconnects, re-inits (new key) and sends what was queued.
    const [connB] = [...session!.connections]
    await pageB.evaluate(() => {
      const w = globalThis as unknown as PageGlobals
      w.disconnected = w.client.next('disconnected')
      w.reconnected = w.client.next('reconnected')
    })
    const reinits = host.log.events('session.reinit').length
    // The registry holds the transport's Connection, which can drop its socket without a close frame.
    const drop = host.server.ctx.connections.get(connB!) as unknown as { terminate(): void }
    drop.terminate()
    const r = await pageB.evaluate(
      async ({ query, searches }) => {
        const w = globalThis as unknown as PageGlobals
        const [dropped] = await w.disconnected
        // Made while disconnected: queued, then sent after the re-init.
        const queued = w.client.appendMessage('user', 'asked while the connection was down')
        const [info] = await w.reconnected
        const appended = await queued
        const history = await w.client.getHistory()
        const found = await w.client.searchVectors(query, searches[0])
        return { dropped, info, appended, history, found, connected: w.client.connected }
      },
      { query, searches },
    )
    t.equal(r.dropped.code, 1006, 'the drop is seen as an abnormal close')
    t.match(r.info, { created: false, vectors: COUNT, history: 3 })
    t.same(r.appended, { seq: 4, attempt: 1 })
    t.same(
      r.history.messages.map((m) => m.content),
      [...MESSAGES.map(([, content]) => content), 'asked while the connection was down'],
    )
    t.same(
      r.found.results.map((x) => x.id),
      expected[0],
    )
    t.equal(r.connected, true)
    t.equal(host.log.events('session.reinit').length, reinits + 1, 'one re-init, on the new connection')
    t.equal(session?.connections.size, 1)
    t.not([...session!.connections][0], connB, 'a new connection')
  })

  t.test('WebCrypto: the identity key is imported once; a browser without X25519 falls back to tweetnacl', async (t) => {
    const pages = await startStaticServer(pageFiles)
    t.teardown(() => pages.close())
    const host = await startHost(t)
    const browser = await launchBrowser(t)
    const scenario = async ({ hostUrl, session }: { hostUrl: string; session: string }) => {
      const w = globalThis as unknown as PageGlobals
      const identity = w.sdk.generateIdentity()
      const client = await w.sdk.SessionClient.connect(hostUrl, { identity })
      const before = client.cryptoBackend
      const inits = []
      // The first init, then two key rotations: three signatures with one identity.
      for (let i = 0; i < 3; i++) inits.push(await client.openSession(session))
      await client.appendMessage('user', 'signed and boxed')
      const history = await client.getHistory()
      await client.close()
      return {
        before,
        after: client.cryptoBackend,
        created: inits.map((x) => x.created),
        history: history.messages.map((m) => m.content),
        imports: (globalThis as { ed25519Imports?: number }).ed25519Imports,
      }
    }

    // Counts the Ed25519 imports; the SDK keeps the imported key while the identity stays the same.
    const counting = await browser.open(`${pages.url}/`, {
      before: `globalThis.ed25519Imports = 0
        const importKey = SubtleCrypto.prototype.importKey
        SubtleCrypto.prototype.importKey = function (format, data, alg, ...rest) {
          if (format === 'jwk' && (alg === 'Ed25519' || alg?.name === 'Ed25519')) globalThis.ed25519Imports++
          return importKey.call(this, format, data, alg, ...rest)
        }`,
    })
    const web = await counting.evaluate(scenario, { hostUrl: host.url, session: 'webcrypto' })
    t.same(web, { before: 'webcrypto', after: 'webcrypto', created: [true, false, false], history: ['signed and boxed'], imports: 1 })

    // A browser whose WebCrypto has no X25519 (older Safari and Firefox): tweetnacl takes over for good.
    const noX25519 = await browser.open(`${pages.url}/`, {
      before: `const generateKey = SubtleCrypto.prototype.generateKey
        SubtleCrypto.prototype.generateKey = function (alg, ...rest) {
          if (alg === 'X25519' || alg?.name === 'X25519') return Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError'))
          return generateKey.call(this, alg, ...rest)
        }`,
    })
    const nacl = await noX25519.evaluate(scenario, { hostUrl: host.url, session: 'tweetnacl' })
    t.match(nacl, { before: 'webcrypto', after: 'tweetnacl', created: [true, false, false], history: ['signed and boxed'] })
  })

  t.test('a page on an origin outside CORS_ORIGINS and ALLOWED_ORIGINS cannot connect', async (t) => {
    const pages = await startStaticServer(pageFiles)
    t.teardown(() => pages.close())
    const host = await startHost(t, { corsOrigins: pages.url, allowedOrigins: pages.url })
    const browser = await launchBrowser(t)
    // Same server, another origin: localhost is not 127.0.0.1 to a browser.
    const otherOrigin = pages.url.replace('127.0.0.1', 'localhost')
    const page = await browser.open(`${otherOrigin}/`)
    const r = await page.evaluate(
      async ({ hostUrl, hostPublicKey }) => {
        const w = globalThis as unknown as PageGlobals
        const describe = (e: unknown) => ({ isHostError: e instanceof w.sdk.HostError, code: (e as Sdk.HostError).code, message: (e as Error).message })
        // Host info is withheld by the browser: no CORS header for this origin.
        const viaHostInfo = await w.sdk.SessionClient.connect(hostUrl).then(() => undefined, describe)
        // With the key pinned the page goes straight to the WebSocket: refused with 403.
        const pinned = await w.sdk.SessionClient.connect(hostUrl, { hostPublicKey }).then(() => undefined, describe)
        return { origin: (globalThis as unknown as { location: { origin: string } }).location.origin, viaHostInfo, pinned }
      },
      { hostUrl: host.url, hostPublicKey: Buffer.from(host.hostPublicKey).toString('base64') },
    )
    t.equal(r.origin, otherOrigin)
    t.match(r.viaHostInfo, { isHostError: true, code: 'disconnected', message: /cannot fetch host info/ })
    t.match(r.pinned, { isHostError: true, code: 'disconnected', message: /cannot open ws:/ })
    const refused = await host.log.waitFor('connection.refused', { origin: otherOrigin })
    t.equal(refused.reason, 'origin_not_allowed')
    t.equal(host.log.events('connection.opened').length, 0, 'no connection was accepted')
  })
})
