// The admin console (GET /admin) in headless Chromium against a real host
// with an admin token, with SDK clients in this process holding sessions:
// the token pasted (a wrong one refused), the sessions and stats shown, a
// session ended and another evicted from the page through its confirmation
// (the clients hear `ended` and `evicted`), a stuck (detached) session
// highlighted once the threshold is short enough and recovered with one
// click, search by id and #seq, the token kept for the tab and forgotten,
// the page at a phone's width, a banner when the host goes away, and the
// CSP holding throughout (no violation, no page error). A screenshot is saved
// under test/browser/output/ (UPDATE_SCREENSHOT=1 also refreshes docs/console.png).
import t from 'tap'
import { copyFileSync, mkdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ConsoleMessage, Page } from 'playwright-core'
import { SessionClient, generateIdentity, type SessionStatusNotice } from '@rag-session-host/client'
import { startHost, type TestHost } from '../helpers/host.js'
import { within } from '../helpers/wait.js'
import { browserSuite, launchBrowser } from './chromium.js'

const OUTPUT = fileURLToPath(new URL('output/', import.meta.url))
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/console.png', import.meta.url))
const TOKEN = 'console-test-admin-token-0123456789'
/** How long ago, as the host tells it, the detached session was last active: past the 1 min threshold, short of the 5 min one. */
const DETACHED_AGO_MS = 2 * 60_000

// What the functions evaluated in the page use there (the tests' tsconfig has no DOM types).
declare const document: any, sessionStorage: any, window: any, getComputedStyle: any

interface Client {
  c: SessionClient
  next: () => Promise<SessionStatusNotice>
}

async function client(t: { teardown(fn: () => unknown): void }, host: TestHost, sessionId: string, opts: { vectors?: number; messages?: number } = {}): Promise<Client> {
  const c = await SessionClient.connect(host.url, { identity: generateIdentity(), reconnect: { maxAttempts: 0 } })
  t.teardown(() => c.close())
  const waiting: ((n: SessionStatusNotice) => void)[] = []
  const heard: SessionStatusNotice[] = []
  c.on('notice', (n) => {
    const w = waiting.shift()
    if (w) w(n)
    else heard.push(n)
  })
  await c.openSession(sessionId)
  for (let i = 0; i < (opts.messages ?? 0); i++) await c.appendMessage('user', `secret message ${i} of ${sessionId}`)
  if (opts.vectors) {
    await c.uploadVectors(Array.from({ length: opts.vectors }, (_, i) => ({ id: `doc-${i}`, vector: [i + 1, 1, 0, 0.5], metadata: { secret: `metadata ${i}` } })))
  }
  const next = (): Promise<SessionStatusNotice> => {
    const already = heard.shift()
    return already ? Promise.resolve(already) : within(new Promise((resolve) => waiting.push(resolve)), 5000, `a notice on ${sessionId}`)
  }
  return { c, next }
}

/** Clicks a session's row button, then the dialog's confirm (or cancel) button; resolves once the dialog is closed. */
async function confirmRow(page: Page, sessionId: string, action: 'end' | 'evict', answer: 'ok' | 'cancel'): Promise<void> {
  await page.click(`#sessions-body tr[data-session-id="${sessionId}"] button[data-action="${action}"]`)
  await page.waitForSelector('#confirm[open]')
  await page.click(answer === 'ok' ? '#confirm-ok' : '#confirm-cancel')
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' })
}

const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim()

browserSuite(t, 'admin console in Chromium', () => {
  t.test('the console: token, sessions, stats, end, evict, stuck-session recovery, search, narrow width, CSP', async (t) => {
    // The host's clock runs DETACHED_AGO_MS behind until the stuck session has detached, then catches up:
    // that session was last active two minutes ago, for the host and the page alike.
    let offset = -DETACHED_AGO_MS
    const host = await startHost(t, { adminToken: TOKEN }, { now: () => Date.now() + offset })
    const kept = await client(t, host, 'console-evict-me', { messages: 3, vectors: 5 })
    const ending = await client(t, host, 'console-end-me', { messages: 1 })
    const gone = await client(t, host, 'console-stuck', { messages: 2 })
    await gone.c.close()
    await host.log.waitFor('session.detached', { session_id: 'console-stuck' })
    offset = 0

    const browser = await launchBrowser(t)
    // What the page reports, from before its first script runs: CSP violations, console messages, uncaught errors.
    const messages: ConsoleMessage[] = []
    const errors: Error[] = []
    browser.context.on('console', (m) => messages.push(m))
    browser.context.on('weberror', (e) => errors.push(e.error()))
    const page = await browser.open(`${host.url}/admin`, {
      before: `globalThis.cspViolations = []
        document.addEventListener('securitypolicyviolation', (e) => globalThis.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI))`,
    })
    const response = await page.request.get(`${host.url}/admin`)
    t.match(response.headers()['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self'/, 'the page came with its CSP')

    // Sign-in: a wrong token is refused and nothing is shown; the right one opens the console.
    t.equal(await page.getAttribute('body', 'data-view'), 'login')
    t.equal(await page.isVisible('#console'), false, 'no data before a token is given')
    await page.fill('#token', 'not-the-admin-token-at-all')
    await page.click('#token-submit')
    await page.waitForSelector('#login-message.error')
    t.match(await text(page, '#login-message'), /refused this token \(401/)
    t.equal(await page.evaluate(() => sessionStorage.getItem('rsh.admin.token')), null, 'a refused token is not kept')
    await page.fill('#token', TOKEN)
    await page.click('#token-submit')
    await page.waitForSelector('#sessions-body tr[data-session-id="console-evict-me"]')
    t.equal(await page.getAttribute('body', 'data-view'), 'console')
    t.equal(await page.inputValue('#token'), '', 'the token field is emptied')
    t.equal(await page.evaluate(() => sessionStorage.getItem('rsh.admin.token')), TOKEN, 'the token is kept in sessionStorage')

    // The sessions, in seq order, and the stats.
    t.same(await page.locator('#sessions-body tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-session-id'), r.getAttribute('data-status')])), [
      ['console-evict-me', 'active'],
      ['console-end-me', 'active'],
      ['console-stuck', 'detached'],
    ])
    const row = '#sessions-body tr[data-session-id="console-evict-me"]'
    t.equal(await text(page, `${row} th`), '#1')
    t.equal(await text(page, `${row} td[data-label="Vectors"]`), '5 × 4')
    t.equal(await text(page, `${row} td[data-label="History"]`), '3')
    t.equal(await text(page, `${row} td[data-label="Conns"]`), '1')
    t.equal(await text(page, '#stat-sessions'), '3 / 1,000')
    t.equal(await text(page, '#stat-connections'), '2')
    t.equal(await text(page, '#stat-vectors'), '5')
    t.equal(await text(page, '#stat-history'), '6')
    t.equal(await text(page, '#stat-ready'), 'yes')
    t.equal(await text(page, '#stat-by-status [data-status="active"] b'), '2')
    t.equal(await text(page, '#stat-by-status [data-status="detached"] b'), '1')
    const body = await text(page, 'body')
    t.notMatch(body, /secret|metadata \d/, 'no history content or metadata on the page')

    // It refreshes by itself: a new session appears without any click.
    const late = await client(t, host, 'console-late', {})
    await page.waitForSelector('#sessions-body tr[data-session-id="console-late"]')
    await late.c.close()

    // End one session: cancel first (nothing happens), then confirm; its client hears `ended`.
    await confirmRow(page, 'console-end-me', 'end', 'cancel')
    t.equal(host.server.ctx.sessions.get('console-end-me')?.status, 'active', 'cancelled: still active')
    const ended = ending.next()
    await confirmRow(page, 'console-end-me', 'end', 'ok')
    t.match(await ended, { type: 'session_status', status: 'ended' })
    await page.waitForSelector('#sessions-body tr[data-session-id="console-end-me"][data-status="ended"]')
    t.match(await text(page, '#notice-text'), /Session console-end-me \(#2\) ended\./)
    t.equal(await page.isDisabled('#sessions-body tr[data-session-id="console-end-me"] button[data-action="end"]'), true, 'an ended session cannot be ended again')

    // Stuck sessions: at 5 min the detached one is not stuck; at 1 min it is, highlighted, and one click recovers it.
    await page.waitForSelector('#sessions-body tr[data-session-id="console-stuck"][data-stuck="false"]')
    t.equal(await page.isDisabled('#recover'), true, 'nothing to recover at 5 min')
    await page.selectOption('#stuck-threshold', '60000')
    await page.waitForSelector('#sessions-body tr.stuck[data-session-id="console-stuck"][data-stuck="true"]')
    await page.waitForSelector('#stuck-list li[data-session-id="console-stuck"]')
    t.match(await text(page, '#stuck-list'), /#3 console-stuck detached for 2 min/)
    t.equal(await text(page, '#recover'), 'Recover 1 stuck session')
    t.equal(await page.locator('#sessions-body tr.stuck').count(), 1, 'only the detached session is highlighted')

    mkdirSync(OUTPUT, { recursive: true })
    const shot = `${OUTPUT}console.png`
    await page.screenshot({ path: shot, fullPage: true })
    t.ok(statSync(shot).size > 10_000, `screenshot saved to ${shot}`)
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, DOCS_SCREENSHOT)

    await page.click('#recover')
    await page.waitForSelector('#sessions-body tr[data-session-id="console-stuck"][data-status="abandoned"]')
    t.match(await text(page, '#notice-text'), /Recovered 1 stuck session, now abandoned: console-stuck \(#3\)\./)
    t.match(host.server.ctx.sessions.get('console-stuck'), { status: 'abandoned', autoRecovered: true })
    t.match(host.log.events('admin.sweep'), [{ idle_ms: 60_000, abandoned: 1 }], 'swept with the chosen threshold')
    await page.waitForSelector('#stuck-list li', { state: 'detached' })
    t.equal(await page.isDisabled('#recover'), true)
    t.equal(await text(page, '#sessions-body tr[data-session-id="console-stuck"] td[data-label="Status"]'), 'abandoned auto-recovered')

    // Evict: auto-refresh pauses while the dialog is open; confirmed, the client hears `evicted` and the row goes.
    const evicted = kept.next()
    await page.click(`${row} button[data-action="evict"]`)
    await page.waitForSelector('#confirm[open]')
    t.match(await text(page, '#confirm-text'), /Evict session console-evict-me \(#1\)\?.*its connection gets an "evicted" notice/)
    t.match(await text(page, '#refresh-state'), /paused while confirming/)
    const refreshes = await page.getAttribute('body', 'data-refreshes')
    await page.click('#confirm-ok')
    t.match(await evicted, { type: 'session_status', status: 'evicted' })
    await page.waitForSelector(row, { state: 'detached' })
    t.not(await page.getAttribute('body', 'data-refreshes'), refreshes)
    t.match(await text(page, '#notice-text'), /Session console-evict-me \(#1\) evicted\./)
    t.equal(host.server.ctx.sessions.get('console-evict-me'), undefined, 'dropped from the host')
    await page.waitForFunction(() => document.querySelector('#stat-sessions')?.textContent === '3 / 1,000')

    // Search by #seq and by id; a miss and a malformed ref; then back to the list.
    await page.fill('#search', '#3')
    await page.click('#search-submit')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 1 && document.querySelector('#sessions-body tr')?.getAttribute('data-seq') === '3')
    t.match(await text(page, '#search-message'), /Showing #3 only/)
    t.equal(await page.isDisabled('#next-page'), true)
    await page.fill('#search', 'console-end-me')
    await page.click('#search-submit')
    await page.waitForSelector('#sessions-body tr[data-session-id="console-end-me"]')
    t.equal(await page.locator('#sessions-body tr').count(), 1)
    await page.fill('#search', 'console-evict-me')
    await page.click('#search-submit')
    await page.waitForSelector('#sessions-empty:not([hidden])')
    t.match(await text(page, '#search-message'), /No session matches console-evict-me/)
    await page.fill('#search', 'not a session id!')
    await page.click('#search-submit')
    await page.waitForSelector('#search[aria-invalid="true"]')
    await page.click('#search-clear')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 3)

    // The status filter.
    await page.selectOption('#status-filter', 'abandoned')
    await page.waitForFunction(() => [...document.querySelectorAll('#sessions-body tr')].map((r) => r.getAttribute('data-session-id')).join() === 'console-stuck')
    await page.selectOption('#status-filter', '')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 3)

    // The token stays for the tab: a reload goes straight to the console.
    await page.reload()
    await page.waitForSelector('#sessions-body tr[data-session-id="console-stuck"]')
    t.equal(await page.getAttribute('body', 'data-view'), 'console')

    // At a phone's width every row is a card and nothing overflows sideways.
    await page.setViewportSize({ width: 380, height: 800 })
    const narrow = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
      display: getComputedStyle(document.querySelector('#sessions tbody tr')).display,
    }))
    t.ok(narrow.scroll <= narrow.width, `no horizontal scroll at 380 px (${narrow.scroll} ≤ ${narrow.width})`)
    t.equal(narrow.display, 'block', 'rows are stacked')
    await page.screenshot({ path: `${OUTPUT}console-narrow.png`, fullPage: true })
    await page.setViewportSize({ width: 1200, height: 820 })

    // Forget the token: the data goes, the token field comes back.
    await page.click('#forget-token')
    await page.waitForSelector('body[data-view="login"]')
    t.equal(await page.locator('#sessions-body tr').count(), 0, 'no session left on the page')
    t.equal(await page.evaluate(() => sessionStorage.getItem('rsh.admin.token')), null, 'forgotten')
    t.match(await text(page, '#login-message'), /Token forgotten/)

    // The CSP held: nothing was refused, nothing threw.
    const cspMessages = messages.map((m) => m.text()).filter((m) => /Content Security Policy|Refused to/i.test(m))
    t.same(cspMessages, [], 'no CSP message in the console')
    t.same(await page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations), [], 'no securitypolicyviolation event')
    t.same(
      errors.map((e) => e.message),
      [],
      'no page error',
    )

    // The host goes away: a banner says so, and the console keeps retrying.
    await page.fill('#token', TOKEN)
    await page.click('#token-submit')
    await page.waitForSelector('#sessions-body tr[data-session-id="console-stuck"]')
    await host.close()
    await page.waitForSelector('#banner:not([hidden])')
    t.match(await text(page, '#banner'), /Cannot reach the host: .*Retrying every 2 s/)
    t.equal(await page.getAttribute('body', 'data-view'), 'console', 'still the console: a network error is not a refused token')
  })

  t.test('paging with next and previous; a reset drops every session; a token the host no longer takes asks for the token again', async (t) => {
    const host = await startHost(t, { adminToken: TOKEN })
    const clients: Client[] = []
    for (let i = 1; i <= 12; i++) clients.push(await client(t, host, `page-${String(i).padStart(2, '0')}`))
    const browser = await launchBrowser(t)
    const page = await browser.open(`${host.url}/admin/`)
    await page.fill('#token', TOKEN)
    await page.click('#token-submit')
    await page.waitForSelector('#sessions-body tr[data-session-id="page-12"]')

    // Ten a page: #1–#10, then #11–#12, and back.
    const seqs = (): Promise<string[]> => page.locator('#sessions-body tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq') ?? ''))
    await page.selectOption('#page-size', '10')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 10)
    t.same(await seqs(), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'])
    t.equal(await page.isDisabled('#prev-page'), true)
    t.equal(await text(page, '#page-info'), 'Page 1 · #1–#10')
    await page.click('#next-page')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 2)
    t.same(await seqs(), ['11', '12'])
    t.equal(await page.isDisabled('#next-page'), true, 'no page after the last')
    t.equal(await text(page, '#page-info'), 'Page 2 · #11–#12')
    await page.click('#prev-page')
    await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr').length === 10)
    t.equal(await text(page, '#page-info'), 'Page 1 · #1–#10')

    // Reset: Escape cancels like the Cancel button; confirmed, every client hears `evicted`.
    const heard = clients.map((c) => c.next())
    await page.click('#reset-host')
    await page.waitForSelector('#confirm[open]')
    t.match(await text(page, '#confirm-text'), /Drop every session \(12 now\)/)
    await page.keyboard.press('Escape')
    await page.waitForSelector('#confirm:not([open])', { state: 'attached' })
    t.equal(host.server.ctx.sessions.size, 12, 'cancelled: nothing dropped')
    await page.click('#reset-host')
    await page.waitForSelector('#confirm[open]')
    await page.click('#confirm-ok')
    for (const n of await Promise.all(heard)) t.match(n, { type: 'session_status', status: 'evicted' })
    await page.waitForSelector('#sessions-empty:not([hidden])')
    t.match(await text(page, '#notice-text'), /Host reset: 12 sessions dropped\./)
    t.equal(await text(page, '#sessions-empty'), 'No sessions.')
    t.equal(host.server.ctx.sessions.size, 0)

    // A token the host does not take (here: another one put in storage) sends the operator back to the token field.
    await page.evaluate(() => sessionStorage.setItem('rsh.admin.token', 'a-token-the-host-does-not-know'))
    await page.reload()
    await page.waitForSelector('#login-message.error')
    t.match(await text(page, '#login-message'), /refused the token \(401 unauthorized\): paste it again/)
    t.equal(await page.evaluate(() => sessionStorage.getItem('rsh.admin.token')), null)
  })
})
