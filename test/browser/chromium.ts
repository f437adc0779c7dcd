// Headless Chromium for the browser tests (Debian's `chromium`, driven by
// playwright-core, which never downloads a browser), and what happens when
// there is none: `npm test` reports the tests as skipped, naming the package
// to install; with REQUIRE_BROWSER=1 (`npm run test:browser`, CI) they fail.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { TAP } from 'tap'
import { SDK_BUNDLE } from '../../examples/browser/files.js'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// No network here: nothing in the browser may try to reach out (QUIC, sync, updates).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (Debian's package) to run the browser tests`
  if (!existsSync(SDK_BUNDLE)) return `no SDK browser bundle at ${SDK_BUNDLE}: run \`npm run build:sdk\``
  return undefined
}

/**
 * Runs the browser tests of a file, or says loudly why not: a skipped test
 * with the reason, or (REQUIRE_BROWSER=1) a failure.
 */
export function browserSuite(t: TAP, name: string, fn: () => void): void {
  const missing = browserUnavailable()
  if (!missing) {
    staleBundleCheck(t)
    fn()
    return
  }
  if (process.env.REQUIRE_BROWSER === '1') {
    void t.test(name, async (t) => t.fail(`REQUIRE_BROWSER=1 but ${missing}`))
    return
  }
  process.stderr.write(`\n*** SKIPPED browser tests (${name}): ${missing} ***\n\n`)
  void t.test(name, { skip: missing }, () => undefined)
}

/** A bundle older than the SDK's sources would test yesterday's code. */
function staleBundleCheck(t: TAP): void {
  const src = fileURLToPath(new URL('../../sdk/src', import.meta.url))
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)))
  if (statSync(SDK_BUNDLE).mtimeMs < newest(src)) t.fail(`${SDK_BUNDLE} is older than sdk/src: run \`npm run build:sdk\` (npm test does it first)`)
}

export interface Browser {
  context: BrowserContext
  /** A new tab at `url`, once its module scripts have run (they set `data-ready` on the body); `before` runs in the page first. */
  open(url: string, opts?: { before?: string }): Promise<Page>
}

/** Launches Chromium with a fresh profile; closed (and the profile removed) at teardown. */
export async function launchBrowser(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'rsh-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
    viewport: { width: 1200, height: 820 },
  })
  // tsx compiles the tests with esbuild's keepNames, so functions handed to
  // page.evaluate() call its __name helper, which the page does not have.
  await context.addInitScript({ content: 'globalThis.__name = (fn) => fn' })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return {
    context,
    async open(url, opts = {}) {
      const page = await context.newPage()
      if (opts.before) await page.addInitScript({ content: opts.before })
      // What the page logs goes to the test's output, to explain a failure.
      page.on('console', (m) => m.type() === 'error' && process.stderr.write(`[page ${m.type()}] ${m.text()}\n`))
      page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`))
      await page.goto(url)
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 10_000 })
      return page
    },
  }
}
