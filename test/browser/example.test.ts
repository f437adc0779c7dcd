// examples/browser driven as a person would: open a session, type messages,
// paste chunks, search them; then reload the page (the identity comes back
// from IndexedDB) and reopen the session. A screenshot of the page at work
// is saved under test/browser/output/ (UPDATE_SCREENSHOT=1 also refreshes
// docs/browser-example.png).
import t from 'tap'
import { copyFileSync, mkdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { exampleFiles } from '../../examples/browser/files.js'
import { startStaticServer } from '../../examples/browser/static-server.js'
import { startHost } from '../helpers/host.js'
import { browserSuite, launchBrowser } from './chromium.js'

const OUTPUT = fileURLToPath(new URL('output/', import.meta.url))
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/browser-example.png', import.meta.url))

const CHUNKS = [
  'Tides are caused mainly by the gravitational pull of the moon, with the sun adding a smaller effect. Most coasts see two high tides a day.',
  'Sourdough bread rises because wild yeast and lactic acid bacteria ferment the flour; a starter is fed with flour and water every day.',
  'The Rust borrow checker enforces that a value has either one mutable reference or any number of shared references at a time.',
  'Espresso is brewed by forcing hot water through finely ground coffee at about nine bars of pressure.',
  'Photosynthesis in green plants turns light, water and carbon dioxide into sugar and oxygen inside the chloroplasts.',
  'Spring tides happen near full and new moon, when the sun and the moon pull in line; neap tides come at the quarter moons.',
]

/** Submits a form through its button and waits until the page's action has finished. */
async function click(page: Page, selector: string): Promise<void> {
  await page.click(selector)
  await page.waitForSelector('body[data-busy="false"]', { state: 'attached' })
  const error = await page.locator('#error').textContent()
  if (error) throw new Error(`the page shows an error after ${selector}: ${error}`)
}

const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allTextContents()

browserSuite(t, 'browser example in Chromium', () => {
  t.test('the example page: open a session, type messages, add chunks, search, reload', async (t) => {
    const pages = await startStaticServer(exampleFiles)
    t.teardown(() => pages.close())
    const host = await startHost(t, { corsOrigins: pages.url, allowedOrigins: pages.url })
    const browser = await launchBrowser(t)
    const url = `${pages.url}/?host=${encodeURIComponent(host.url)}`
    const page = await browser.open(url)

    t.equal(await page.inputValue('#host'), host.url, 'the host URL comes from the query string')
    await page.fill('#session-id', 'reading-notes')
    await click(page, '#open')
    t.match(await page.textContent('#session-info'), /^Created · reading-notes: attempt 1, 0 messages, 0 vectors/)
    t.equal(await page.textContent('#status'), 'connected')
    t.equal(await page.textContent('#backend'), 'webcrypto')

    await page.fill('#message', 'Collect what I read about tides.')
    await click(page, '#send')
    await page.selectOption('#role', 'assistant')
    await page.fill('#message', 'Paste the passages and search them.')
    await page.press('#message', 'Enter')
    await page.waitForSelector('#history li:nth-child(2)')
    await page.waitForSelector('body[data-busy="false"]', { state: 'attached' })
    t.same(await texts(page, '#history li'), ['user Collect what I read about tides.', 'assistant Paste the passages and search them.'])
    t.equal(await page.inputValue('#message'), '', 'the input is cleared after sending')

    await page.fill('#chunks', CHUNKS.join('\n\n'))
    await click(page, '#add-chunks')
    t.equal(await page.getAttribute('#chunk-info', 'data-count'), String(CHUNKS.length))

    await page.fill('#query', 'why does the moon cause tides')
    await click(page, '#search')
    const results = await texts(page, '#results li span:last-child')
    t.equal(results.length, 5, 'k = 5 results')
    t.same(new Set(results.slice(0, 2)), new Set([CHUNKS[5], CHUNKS[0]]), 'the two passages about tides come first')
    const scores = (await texts(page, '#results .score')).map(Number)
    t.same(
      [...scores].sort((x, y) => y - x),
      scores,
      'best first',
    )
    t.equal(await page.getAttribute('#results', 'data-exact'), 'true')

    // The host holds what the page sent, encrypted in transit: 2 messages, one 256-dim vector per chunk.
    const session = host.server.ctx.sessions.get('reading-notes')
    t.equal(session?.history.total, 2)
    t.match(await page.textContent('#session-info'), /2 messages, 6 vectors × 256 dims/)

    // The embedder is deterministic and unit-length, and refuses a text with no words.
    const embedder = await page.evaluate(async (text) => {
      const m = (await import(new URL('/embedder.js', (globalThis as unknown as { location: { href: string } }).location.href).href)) as {
        DIMS: number
        embed(text: string): Float32Array | null
      }
      const v1 = m.embed(text)!
      const v2 = m.embed(text)!
      return { dims: m.DIMS, length: v1.length, same: v1.every((x, i) => x === v2[i]), norm: Math.hypot(...v1), empty: m.embed(' ,.; ') }
    }, CHUNKS[0]!)
    t.match(embedder, { dims: 256, length: 256, same: true, empty: null })
    t.ok(Math.abs(embedder.norm - 1) < 1e-6, 'L2-normalised')

    mkdirSync(OUTPUT, { recursive: true })
    const shot = `${OUTPUT}example.png`
    await page.screenshot({ path: shot, fullPage: true })
    t.ok(statSync(shot).size > 10_000, `screenshot saved to ${shot}`)
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, DOCS_SCREENSHOT)

    // A reload keeps the identity (IndexedDB), so the session reopens with its history.
    await page.reload()
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' })
    await page.fill('#session-id', 'reading-notes')
    await click(page, '#open')
    t.match(await page.textContent('#session-info'), /^Reopened · reading-notes: attempt 1, 2 messages, 6 vectors/)
    t.same(await texts(page, '#history li'), ['user Collect what I read about tides.', 'assistant Paste the passages and search them.'])
    t.equal(host.log.events('session.created').length, 1, 'one session, reopened by the same identity')
  })
})
