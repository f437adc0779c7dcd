// @ts-check
// The admin console (GET /admin): a plain ES module, no build step, no
// third-party code. It talks to the admin API (/v1/admin, Bearer token) of
// the host that serves it, and shows only what that API returns: counts,
// sizes, statuses and times, never history, metadata or vectors. Every value
// reaches the page through textContent or an attribute, never as HTML.

/**
 * @typedef {'active' | 'detached' | 'abandoned' | 'ended'} Status
 * @typedef {{
 *   seq: number, session_id: string, status: Status, attempt: number, vectors: number, dims: number | null,
 *   bytes: number, history: number, history_total: number, created_at: number, last_active_at: number,
 *   connections: number, auto_recovered: boolean, node_id?: string
 * }} SessionView
 * @typedef {{
 *   version: string, uptime_s: number, ready: boolean,
 *   sessions: { total: number, capacity: number, by_status: Record<Status, number> },
 *   connections: number, vectors: number, bytes: number, history_messages: number,
 *   event_loop: { p50_ms: number, p99_ms: number, max_ms: number },
 *   memory: { rss_bytes: number, heap_used_bytes: number },
 *   journal: { enabled: boolean, healthy: boolean }
 * }} Stats
 * @typedef {{ sessions: SessionView[], next_cursor: string | null }} SessionPage
 * @typedef {{ stuck: SessionView[], detached: number, truncated: boolean }} StuckReport
 */

const API = '/v1/admin'
const TOKEN_KEY = 'rsh.admin.token'
const REFRESH_MS = 2000
/** The protocol's session id (sdk/src/shared/messages.ts, SESSION_ID_PATTERN). */
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/
const SEQ_REF = /^#[1-9]\d{0,15}$/
/** Detached sessions are read this many at a time, at most this many pages, to find the stuck ones. */
const STUCK_PAGE = 500
const STUCK_PAGES = 4
const STATUSES = /** @type {const} */ (['active', 'detached', 'abandoned', 'ended'])

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const el = document.getElementById(id)
  if (!el) throw new Error(`the page has no #${id}`)
  return /** @type {T} */ (el)
}

/** @param {string} id */
const button = (id) => /** @type {HTMLButtonElement} */ ($(id))
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id))
/** @param {string} id */
const select = (id) => /** @type {HTMLSelectElement} */ ($(id))
/** @param {string} id */
const dialog = (id) => /** @type {HTMLDialogElement} */ ($(id))

/** An answer of the admin API other than 2xx. */
class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** The request did not get an answer (host down, network gone). */
class NetworkError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'NetworkError'
  }
}

const state = {
  /** @type {string | null} */
  token: readToken(),
  /** @type {'' | Status} */
  status: '',
  limit: 50,
  /** The cursor of the page shown (null: the first page), and those of the pages before it. */
  /** @type {string | null} */
  cursor: null,
  /** @type {(string | null)[]} */
  previous: [],
  /** @type {string | null} */
  next: null,
  /** A session ref (id or #seq) while a search is shown. */
  /** @type {string | null} */
  search: null,
  thresholdMs: 300_000,
  /** Host clock minus this clock, from the Date header, when they differ by more than a few seconds. */
  skewMs: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer: undefined,
  /** Each refresh takes a number; an answer older than the latest is dropped. */
  generation: 0,
  /** @type {number | null} */
  lastUpdate: null,
  /** @type {Stats | null} */
  stats: null,
}

// ---- token ----

/** @returns {string | null} */
function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

/** @param {string | null} token */
function storeToken(token) {
  state.token = token
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, token)
  } catch {
    // Storage refused (a privacy mode): the token lives in this page only.
  }
}

// ---- the admin API ----

/**
 * @param {'GET' | 'POST' | 'DELETE'} method
 * @param {string} path under /v1/admin
 * @param {unknown} [body] sent as JSON when given
 * @param {string | null} [token]
 * @returns {Promise<any>}
 */
async function api(method, path, body, token = state.token) {
  if (!token) throw new ApiError(401, 'unauthorized', 'no admin token')
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  /** @type {Response} */
  let res
  /** @type {string} */
  let text
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    })
    text = await res.text()
  } catch (err) {
    throw new NetworkError(err instanceof Error ? err.message : String(err))
  }
  noteHostClock(res)
  /** @type {any} */
  let payload = null
  try {
    payload = text ? JSON.parse(text) : null
  } catch {
    payload = null
  }
  if (!res.ok) {
    const error = payload && typeof payload === 'object' ? payload.error : undefined
    const code = typeof error?.code === 'string' ? error.code : `http_${res.status}`
    const message = typeof error?.message === 'string' ? error.message : res.statusText || 'request failed'
    throw new ApiError(res.status, code, message)
  }
  return payload
}

/** @param {Response} res */
function noteHostClock(res) {
  const date = Date.parse(res.headers.get('date') ?? '')
  if (Number.isNaN(date)) return
  const skew = date - Date.now()
  // The header has whole seconds: only a real difference of clocks counts.
  state.skewMs = Math.abs(skew) > 5000 ? skew : 0
}

const hostNow = () => Date.now() + state.skewMs

/** @param {string} ref a session id or #seq */
const refPath = (ref) => `/sessions/${encodeURIComponent(ref)}`
/** @param {SessionView} v */
const seqRef = (v) => `#${v.seq}`

/** @returns {Promise<SessionPage & { missing?: boolean }>} */
async function loadSessions() {
  if (state.search !== null) {
    try {
      /** @type {SessionView} */
      const view = await api('GET', refPath(state.search))
      return { sessions: [view], next_cursor: null }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return { sessions: [], next_cursor: null, missing: true }
      throw err
    }
  }
  const query = new URLSearchParams({ limit: String(state.limit) })
  if (state.status) query.set('status', state.status)
  if (state.cursor !== null) query.set('cursor', state.cursor)
  try {
    return await api('GET', `/sessions?${query}`)
  } catch (err) {
    // A cursor the host no longer takes: start again from the first page.
    if (err instanceof ApiError && err.status === 400 && state.cursor !== null) {
      resetPaging()
      return loadSessions()
    }
    throw err
  }
}

/** @returns {Promise<StuckReport>} */
async function loadStuck() {
  /** @type {SessionView[]} */
  const detached = []
  /** @type {string | null} */
  let cursor = null
  let pages = 0
  do {
    const query = new URLSearchParams({ status: 'detached', limit: String(STUCK_PAGE) })
    if (cursor !== null) query.set('cursor', cursor)
    /** @type {SessionPage} */
    const page = await api('GET', `/sessions?${query}`)
    detached.push(...page.sessions)
    cursor = page.next_cursor
    pages++
  } while (cursor !== null && pages < STUCK_PAGES)
  const now = hostNow()
  return { stuck: detached.filter((v) => v.status === 'detached' && now - v.last_active_at > state.thresholdMs), detached: detached.length, truncated: cursor !== null }
}

// ---- formatting ----

const int = new Intl.NumberFormat('en')

/** @param {number} n */
function bytes(n) {
  if (!Number.isFinite(n)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`
}

/** @param {number} ms */
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  /** Two units, the second left out when it is zero: "2 min 4 s", "5 min", "3 h 1 min". */
  const two = (/** @type {number} */ a, /** @type {string} */ ua, /** @type {number} */ b, /** @type {string} */ ub) => (b === 0 ? `${a} ${ua}` : `${a} ${ua} ${b} ${ub}`)
  const m = Math.floor(s / 60)
  if (m < 60) return two(m, 'min', s % 60, 's')
  const h = Math.floor(m / 60)
  if (h < 24) return two(h, 'h', m % 60, 'min')
  return two(Math.floor(h / 24), 'd', h % 24, 'h')
}

/** @param {number} ms */
function clock(ms) {
  const d = new Date(ms)
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** @param {number} ms */
const millis = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : '–')

/**
 * @param {string} tag
 * @param {{ text?: string, className?: string, attrs?: Record<string, string> }} [opts]
 * @param {(Node | string)[]} [children]
 */
function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag)
  if (opts.text !== undefined) node.textContent = opts.text
  if (opts.className) node.className = opts.className
  for (const [k, v] of Object.entries(opts.attrs ?? {})) node.setAttribute(k, v)
  node.append(...children)
  return node
}

/** @param {number} ms */
function timeEl(ms) {
  return el('time', { text: clock(ms), attrs: { datetime: new Date(ms).toISOString() } })
}

// ---- rendering ----

/** @param {Stats} s */
function renderStats(s) {
  state.stats = s
  $('stat-version').textContent = s.version
  $('stat-uptime').textContent = duration(s.uptime_s * 1000)
  const ready = $('stat-ready')
  ready.textContent = s.ready ? 'yes' : 'no'
  ready.className = s.ready ? 'good' : 'bad'
  $('stat-sessions').textContent = `${int.format(s.sessions.total)} / ${int.format(s.sessions.capacity)}`
  const meter = /** @type {HTMLMeterElement} */ ($('stat-capacity'))
  meter.max = Math.max(1, s.sessions.capacity)
  meter.high = meter.max * 0.8
  meter.value = s.sessions.total
  meter.textContent = `${s.sessions.total} of ${s.sessions.capacity}`
  $('stat-by-status').replaceChildren(
    ...STATUSES.map((st) =>
      el('span', { className: `badge status-${st}`, attrs: { 'data-status': st } }, [`${st} `, el('b', { text: int.format(s.sessions.by_status[st] ?? 0) })]),
    ),
  )
  $('stat-connections').textContent = int.format(s.connections)
  $('stat-vectors').textContent = int.format(s.vectors)
  $('stat-bytes').textContent = bytes(s.bytes)
  $('stat-history').textContent = int.format(s.history_messages)
  $('stat-event-loop').textContent = `${millis(s.event_loop.p50_ms)} / ${millis(s.event_loop.p99_ms)} / ${millis(s.event_loop.max_ms)}`
  $('stat-memory').textContent = `${bytes(s.memory.rss_bytes)} / ${bytes(s.memory.heap_used_bytes)}`
  const journal = $('stat-journal')
  journal.textContent = !s.journal.enabled ? 'off (memory only)' : s.journal.healthy ? 'on, writable' : 'on, writes failing'
  journal.className = s.journal.enabled && !s.journal.healthy ? 'bad' : ''
}

/** @param {SessionView} v */
function isStuck(v) {
  return v.status === 'detached' && hostNow() - v.last_active_at > state.thresholdMs
}

/**
 * @param {SessionView} v
 * @param {string} action
 * @param {string} label
 * @param {string} [className]
 */
function actionButton(v, action, label, className = '') {
  return el('button', {
    text: label,
    className,
    attrs: { type: 'button', 'data-action': action, 'data-seq': String(v.seq), 'aria-label': `${label} session ${v.session_id} (#${v.seq})` },
  })
}

/**
 * @param {string} label column name, shown before the value at narrow widths
 * @param {(Node | string)[]} children
 * @param {string} [className]
 */
function cell(label, children, className = '') {
  return el('td', { className, attrs: { 'data-label': label } }, children)
}

/** @param {SessionView} v */
function sessionRow(v) {
  const now = hostNow()
  const stuck = isStuck(v)
  /** @type {(Node | string)[]} */
  const status = [el('span', { text: v.status, className: `badge status-${v.status}` })]
  if (stuck) status.push(' ', el('span', { text: 'stuck', className: 'badge stuck' }))
  if (v.auto_recovered) status.push(' ', el('span', { text: 'auto-recovered', className: 'badge quiet', attrs: { title: 'This session has been abandoned at least once' } }))
  const history = v.history === v.history_total ? int.format(v.history) : `${int.format(v.history)} / ${int.format(v.history_total)}`
  const vectors = v.dims === null || v.vectors === 0 ? int.format(v.vectors) : `${int.format(v.vectors)} × ${v.dims}`
  const lastActive = el('span', { text: `${duration(now - v.last_active_at)} ago`, attrs: { title: clock(v.last_active_at) } })
  const actions = el('div', { className: 'actions' }, [actionButton(v, 'end', 'End'), actionButton(v, 'evict', 'Evict', 'bad')])
  const end = /** @type {HTMLButtonElement} */ (actions.firstChild)
  end.disabled = v.status === 'ended'
  const row = el(
    'tr',
    { className: stuck ? 'stuck' : '', attrs: { 'data-seq': String(v.seq), 'data-session-id': v.session_id, 'data-status': v.status, 'data-stuck': String(stuck) } },
    [
      el('th', { text: `#${v.seq}`, attrs: { scope: 'row', 'data-label': 'Seq' } }),
      // Cluster mode: the host that holds it (the list covers every host).
      cell(
        'Session id',
        v.node_id
          ? [
              el('code', { text: v.session_id, className: 'session-id' }),
              ' ',
              el('span', { text: v.node_id, className: 'badge quiet node-id', attrs: { title: 'The host that holds this session' } }),
            ]
          : [el('code', { text: v.session_id, className: 'session-id' })],
      ),
      cell('Status', [el('span', { className: 'badges' }, status)]),
      cell('Attempt', [String(v.attempt)], 'num'),
      cell('Conns', [int.format(v.connections)], 'num'),
      cell('Vectors', [vectors], 'num'),
      cell('Bytes', [bytes(v.bytes)], 'num'),
      cell('History', [history], 'num'),
      cell('Created', [timeEl(v.created_at)]),
      cell('Last active', [lastActive]),
      cell('Actions', [actions]),
    ],
  )
  return row
}

/** Sessions, for the row actions: the views last shown, by seq. */
/** @type {Map<number, SessionView>} */
const shown = new Map()

/** @param {SessionPage & { missing?: boolean }} page */
function renderSessions(page) {
  // The table is rebuilt; keyboard focus on a row's button stays on that button.
  const active = document.activeElement instanceof HTMLElement ? document.activeElement : null
  const focus = active?.dataset.action ? { action: active.dataset.action, seq: active.dataset.seq } : null
  shown.clear()
  for (const v of page.sessions) shown.set(v.seq, v)
  $('sessions-body').replaceChildren(...page.sessions.map(sessionRow))
  if (focus) {
    const again = document.querySelector(`#sessions-body button[data-action="${focus.action}"][data-seq="${focus.seq}"]`)
    if (again instanceof HTMLElement) again.focus()
  }
  state.next = page.next_cursor
  const empty = $('sessions-empty')
  empty.hidden = page.sessions.length > 0
  if (state.search !== null) {
    empty.textContent = `No session ${state.search}.`
    $('search-message').textContent = page.missing ? `No session matches ${state.search}.` : `Showing ${state.search} only.`
  } else {
    empty.textContent = state.cursor === null ? (state.status ? `No ${state.status} sessions.` : 'No sessions.') : 'No sessions on this page.'
  }
  const searching = state.search !== null
  button('prev-page').disabled = searching || state.previous.length === 0
  button('next-page').disabled = searching || state.next === null
  const first = page.sessions[0]
  const last = page.sessions.at(-1)
  const range = first && last ? ` · #${first.seq}–#${last.seq}` : ''
  $('page-info').textContent = searching ? 'Search result' : `Page ${state.previous.length + 1}${range}`
}

/** @param {StuckReport} r */
function renderStuck(r) {
  const threshold = duration(state.thresholdMs)
  const now = hostNow()
  $('stuck-list').replaceChildren(
    ...r.stuck.map((v) =>
      el('li', { attrs: { 'data-seq': String(v.seq), 'data-session-id': v.session_id } }, [
        el('b', { text: `#${v.seq}` }),
        ' ',
        el('code', { text: v.session_id }),
        ` detached for ${duration(now - v.last_active_at)}`,
      ]),
    ),
  )
  const more = r.truncated ? ` (only the first ${r.detached} detached sessions were read)` : ''
  $('stuck-summary').textContent =
    r.stuck.length === 0
      ? `No session has been detached longer than ${threshold} (${r.detached} detached)${more}.`
      : `${r.stuck.length} of ${r.detached} detached sessions idle longer than ${threshold}${more}. Recovering marks them abandoned: their data is kept for the retention time and an init resumes them.`
  const recover = button('recover')
  recover.disabled = r.stuck.length === 0
  recover.textContent = r.stuck.length === 0 ? 'Recover stuck sessions' : `Recover ${r.stuck.length} stuck session${r.stuck.length === 1 ? '' : 's'}`
  $('stuck-panel').dataset.stuck = String(r.stuck.length)
}

function clearData() {
  state.stats = null
  shown.clear()
  $('sessions-body').replaceChildren()
  $('stuck-list').replaceChildren()
  $('stat-by-status').replaceChildren('–')
  for (const id of [
    'stat-version',
    'stat-uptime',
    'stat-ready',
    'stat-sessions',
    'stat-connections',
    'stat-vectors',
    'stat-bytes',
    'stat-history',
    'stat-event-loop',
    'stat-memory',
    'stat-journal',
  ]) {
    $(id).textContent = '–'
  }
  $('stuck-summary').textContent = '–'
  $('search-message').textContent = ''
}

// ---- messages ----

/** @param {string | null} text */
function banner(text) {
  const box = $('banner')
  box.hidden = text === null
  box.textContent = text ?? ''
  document.body.dataset.stale = String(text !== null)
}

/**
 * @param {string | null} text
 * @param {'ok' | 'error'} [kind]
 */
function notice(text, kind = 'ok') {
  const box = $('notice')
  box.hidden = text === null
  box.dataset.kind = kind
  $('notice-text').textContent = text ?? ''
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof ApiError) return `${err.status} ${err.code}: ${err.message}`
  if (err instanceof NetworkError) return `cannot reach the host (${err.message})`
  return err instanceof Error ? err.message : String(err)
}

// ---- views ----

/** @param {string} [message] why the token is asked for (again) */
function showLogin(message) {
  clearTimeout(state.timer)
  state.generation++
  clearData()
  banner(null)
  notice(null)
  document.body.dataset.view = 'login'
  $('login').hidden = false
  $('console').hidden = true
  $('top-actions').hidden = true
  const msg = $('login-message')
  if (message) {
    msg.textContent = message
    msg.className = 'error'
  }
  $('token').focus()
}

function showConsole() {
  document.body.dataset.view = 'console'
  $('login').hidden = true
  $('console').hidden = false
  $('top-actions').hidden = false
}

/** @param {string} message */
function tokenRefused(message) {
  storeToken(null)
  showLogin(message)
}

// ---- refresh ----

function paused() {
  const box = dialog('confirm')
  if (box.open) return 'paused while confirming'
  if (document.hidden) return 'paused (tab hidden)'
  if (!input('auto-refresh').checked) return 'auto-refresh off'
  return null
}

function showRefreshState() {
  const why = paused()
  const updated = state.lastUpdate === null ? 'not loaded yet' : `updated ${clock(state.lastUpdate).slice(11)}`
  $('refresh-state').textContent = why ? `${updated} · ${why}` : `${updated} · every ${REFRESH_MS / 1000} s`
}

function schedule() {
  clearTimeout(state.timer)
  state.timer = undefined
  showRefreshState()
  if (state.token === null || paused()) return
  state.timer = setTimeout(() => void refresh(), REFRESH_MS)
}

async function refresh() {
  clearTimeout(state.timer)
  if (state.token === null) return
  const generation = ++state.generation
  document.body.dataset.loading = 'true'
  try {
    const [stats, page, stuck] = await Promise.all([api('GET', '/stats'), loadSessions(), loadStuck()])
    if (generation !== state.generation) return
    renderStats(stats)
    renderSessions(page)
    renderStuck(stuck)
    state.lastUpdate = Date.now()
    banner(null)
  } catch (err) {
    if (generation !== state.generation) return
    if (err instanceof ApiError && err.status === 401) {
      tokenRefused('The host refused the token (401 unauthorized): paste it again.')
      return
    }
    banner(
      err instanceof NetworkError
        ? `Cannot reach the host: ${err.message}. Retrying every ${REFRESH_MS / 1000} s; what is shown may be out of date.`
        : `The host answered ${describe(err)}`,
    )
  } finally {
    if (generation === state.generation) {
      document.body.dataset.loading = 'false'
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1)
      schedule()
    }
  }
}

function resetPaging() {
  state.cursor = null
  state.previous = []
  state.next = null
}

// ---- confirmation ----

/**
 * An in-page dialog; auto-refresh pauses while it is open. Resolves true when confirmed.
 * @param {{ title: string, text: string, ok: string }} what
 * @returns {Promise<boolean>}
 */
function confirmAction(what) {
  const box = dialog('confirm')
  $('confirm-title').textContent = what.title
  $('confirm-text').textContent = what.text
  $('confirm-ok').textContent = what.ok
  box.returnValue = ''
  clearTimeout(state.timer)
  box.showModal()
  button('confirm-cancel').focus()
  showRefreshState()
  return new Promise((resolve) => {
    box.addEventListener(
      'close',
      () => {
        resolve(box.returnValue === 'ok')
        schedule()
      },
      { once: true },
    )
  })
}

/**
 * Runs one operator action: the button is disabled meanwhile, its outcome is shown, the page refreshed.
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<string>} fn resolves with what to tell the operator
 */
async function act(button, fn) {
  notice(null)
  if (button) button.disabled = true
  document.body.dataset.busy = 'true'
  try {
    notice(await fn())
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      tokenRefused('The host refused the token (401 unauthorized): paste it again.')
      return
    }
    notice(`Failed: ${describe(err)}`, 'error')
  } finally {
    if (button) button.disabled = false
    document.body.dataset.busy = 'false'
  }
  await refresh()
}

/**
 * @param {'end' | 'evict'} action
 * @param {SessionView} v
 * @param {HTMLButtonElement} button
 */
async function sessionAction(action, v, button) {
  const name = `${v.session_id} (#${v.seq})`
  /** @param {string} kind */
  const told = (kind) =>
    v.connections === 0
      ? 'it has no connection to tell'
      : v.connections === 1
        ? `its connection gets an "${kind}" notice`
        : `its ${v.connections} connections get an "${kind}" notice`
  const ok = await confirmAction(
    action === 'end'
      ? {
          title: 'End session?',
          text: `End session ${name}? It becomes read-only and is dropped after the retention time; ${told('ended')}.`,
          ok: 'End session',
        }
      : {
          title: 'Evict session?',
          text: `Evict session ${name}? It is dropped from the host now, with its history and vectors; ${told('evicted')}. This cannot be undone.`,
          ok: 'Evict session',
        },
  )
  if (!ok) return
  // By seq: a session of the same id created meanwhile is another session.
  await act(button, async () => {
    try {
      if (action === 'end') {
        await api('POST', `${refPath(seqRef(v))}/end`)
        return `Session ${name} ended.`
      }
      await api('DELETE', refPath(seqRef(v)))
      return `Session ${name} evicted.`
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return `Session ${name} is no longer on the host.`
      throw err
    }
  })
}

// ---- wiring ----

function wire() {
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const field = input('token')
    const submit = button('token-submit')
    const token = field.value.trim()
    if (!token) return
    submit.disabled = true
    const msg = $('login-message')
    api('GET', '/stats', undefined, token).then(
      () => {
        field.value = ''
        submit.disabled = false
        msg.className = 'muted'
        storeToken(token)
        showConsole()
        void refresh()
      },
      (err) => {
        submit.disabled = false
        msg.className = 'error'
        msg.textContent = err instanceof ApiError && err.status === 401 ? 'The host refused this token (401 unauthorized).' : `Cannot check the token: ${describe(err)}`
        field.select()
      },
    )
  })

  $('forget-token').addEventListener('click', () => {
    storeToken(null)
    showLogin('Token forgotten. Paste it again to continue.')
  })

  $('auto-refresh').addEventListener('change', () => {
    if (input('auto-refresh').checked) void refresh()
    else schedule()
  })

  document.addEventListener('visibilitychange', () => {
    if (state.token === null || document.body.dataset.view !== 'console') return
    if (document.hidden) schedule()
    else void refresh()
  })

  $('status-filter').addEventListener('change', () => {
    state.status = /** @type {'' | Status} */ (select('status-filter').value)
    resetPaging()
    void refresh()
  })

  $('page-size').addEventListener('change', () => {
    state.limit = Number(select('page-size').value)
    resetPaging()
    void refresh()
  })

  $('next-page').addEventListener('click', () => {
    if (state.next === null) return
    state.previous.push(state.cursor)
    state.cursor = state.next
    void refresh()
  })

  $('prev-page').addEventListener('click', () => {
    if (state.previous.length === 0) return
    state.cursor = state.previous.pop() ?? null
    void refresh()
  })

  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const field = input('search')
    const value = field.value.trim()
    const msg = $('search-message')
    if (value === '') {
      clearSearch()
      return
    }
    if (!SEQ_REF.test(value) && !SESSION_ID.test(value)) {
      msg.textContent = 'Not a session id (letters, digits and . _ : -, up to 128) nor #seq (for example #12).'
      field.setAttribute('aria-invalid', 'true')
      return
    }
    field.removeAttribute('aria-invalid')
    state.search = value
    $('search-clear').hidden = false
    void refresh()
  })

  $('search').addEventListener('input', () => $('search').removeAttribute('aria-invalid'))
  $('search-clear').addEventListener('click', clearSearch)

  $('stuck-threshold').addEventListener('change', () => {
    state.thresholdMs = Number(select('stuck-threshold').value)
    void refresh()
  })

  $('stuck-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const idle = state.thresholdMs
    void act(button('recover'), async () => {
      /** @type {{ abandoned: { seq: number, session_id: string, idle_ms: number }[] }} */
      const r = await api('POST', '/sweep', { idle_ms: idle })
      if (r.abandoned.length === 0) return `No detached session was idle longer than ${duration(idle)}: nothing to recover.`
      const names = r.abandoned.map((a) => `${a.session_id} (#${a.seq})`).join(', ')
      return `Recovered ${r.abandoned.length} stuck session${r.abandoned.length === 1 ? '' : 's'}, now abandoned: ${names}.`
    })
  })

  $('sessions-body').addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target.closest('button[data-action]') : null
    if (!(target instanceof HTMLButtonElement)) return
    const v = shown.get(Number(target.dataset.seq))
    const action = target.dataset.action
    if (v && (action === 'end' || action === 'evict')) void sessionAction(action, v, target)
  })

  $('reset-host').addEventListener('click', async (e) => {
    const resetButton = /** @type {HTMLButtonElement} */ (e.currentTarget)
    const total = state.stats?.sessions.total
    const ok = await confirmAction({
      title: 'Reset the host?',
      text: `Drop every session${total === undefined ? '' : ` (${total} now)`}, with its history and vectors? Their connections get an "evicted" notice. This cannot be undone.`,
      ok: 'Reset host',
    })
    if (!ok) return
    resetPaging()
    await act(resetButton, async () => {
      /** @type {{ dropped: number }} */
      const r = await api('POST', '/reset')
      return `Host reset: ${r.dropped} session${r.dropped === 1 ? '' : 's'} dropped.`
    })
  })

  $('notice-dismiss').addEventListener('click', () => notice(null))
}

function clearSearch() {
  const field = input('search')
  field.value = ''
  field.removeAttribute('aria-invalid')
  state.search = null
  $('search-clear').hidden = true
  $('search-message').textContent = ''
  void refresh()
}

wire()
if (state.token === null) {
  showLogin()
} else {
  showConsole()
  void refresh()
}
document.body.dataset.ready = 'true'
