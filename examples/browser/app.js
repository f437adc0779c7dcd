// The example page: one SessionClient, a session whose messages and text
// chunks live encrypted on the host, and a search over the chunks with the
// in-page embedder. Everything the SDK does here it does the same in Node.
import { SessionClient, HostError } from './client.browser.js'
import { DIMS, chunks, embed } from './embedder.js'
import { loadIdentity } from './identity-store.js'

const $ = (id) => document.getElementById(id)
const BATCH = 250

let client
let clientHost
let identity

$('host').value = new URLSearchParams(location.search).get('host') ?? 'http://127.0.0.1:8080'

function setStatus(state, text) {
  $('status').dataset.state = state
  $('status').textContent = text
}

function showError(err) {
  const box = $('error')
  if (!err) {
    box.hidden = true
    box.textContent = ''
    return
  }
  box.hidden = false
  box.textContent = err instanceof HostError ? `${err.code}: ${err.message}` : String(err?.message ?? err)
}

function setBound(bound) {
  for (const id of ['send', 'add-chunks', 'search']) $(id).disabled = !bound
}

/** Runs one user action: errors are shown, buttons are disabled while it runs. */
async function act(button, fn) {
  showError(undefined)
  const wasDisabled = button.disabled
  button.disabled = true
  document.body.dataset.busy = 'true'
  try {
    await fn()
  } catch (err) {
    showError(err)
  } finally {
    button.disabled = wasDisabled
    document.body.dataset.busy = 'false'
  }
}

async function connectedClient() {
  const host = $('host').value.trim()
  if (client && !client.closed && clientHost === host) return client
  if (client) await client.close()
  identity ??= await loadIdentity()
  $('identity').textContent = `${identity.publicKey.slice(0, 16)}…`
  setStatus('connecting', 'connecting…')
  try {
    client = await SessionClient.connect(host, { identity })
  } catch (err) {
    setStatus('closed', 'not connected')
    throw err
  }
  clientHost = host
  client.on('disconnected', ({ code }) => setStatus('reconnecting', `disconnected (${code})`))
  client.on('reconnecting', ({ attempt }) => setStatus('reconnecting', `reconnecting (attempt ${attempt})…`))
  client.on('reconnected', () => setStatus('connected', 'connected (reconnected)'))
  client.on('notice', (n) => showError(new Error(`host notice: ${n.status}${n.reason ? ` (${n.reason})` : ''}`)))
  client.on('closed', (reason) => {
    setStatus('closed', reason ? `closed: ${reason.message}` : 'closed')
    setBound(false)
  })
  setStatus('connected', 'connected')
  return client
}

async function refreshHistory() {
  const { messages, total } = await client.getHistory({ limit: 50 })
  const list = $('history')
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement('li')
      li.dataset.role = m.role
      const role = document.createElement('b')
      role.textContent = m.role
      li.append(role, ` ${m.content}`)
      return li
    }),
  )
  list.dataset.total = String(total)
  list.scrollTop = list.scrollHeight
}

async function refreshCounts() {
  const info = await client.sessionInfo()
  $('session-info').textContent = `${info.session_id}: attempt ${info.attempt}, ${info.history} messages, ${info.vectors} vectors${info.dims ? ` × ${info.dims} dims` : ''}`
  $('chunk-info').textContent = info.vectors === 0 ? 'No chunks stored.' : `${info.vectors} chunks stored.`
  $('chunk-info').dataset.count = String(info.vectors)
}

$('open-form').addEventListener('submit', (event) => {
  event.preventDefault()
  void act($('open'), async () => {
    setBound(false)
    const c = await connectedClient()
    const info = await c.openSession($('session-id').value.trim())
    $('backend').textContent = c.cryptoBackend
    setBound(true)
    await refreshHistory()
    await refreshCounts()
    $('session-info').textContent = `${info.created ? 'Created' : 'Reopened'} · ${$('session-info').textContent}`
    $('results').replaceChildren()
  })
})

$('message-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const text = $('message').value.trim()
  if (!text) return
  void act($('send'), async () => {
    await client.appendMessage($('role').value, text)
    $('message').value = ''
    await refreshHistory()
    await refreshCounts()
  })
})

$('chunks-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const stamp = Date.now().toString(36)
  const items = chunks($('chunks').value)
    .map((text, i) => ({ id: `chunk-${stamp}-${i}`, vector: embed(text), metadata: { text: text.slice(0, 2000) } }))
    .filter((item) => item.vector !== null)
  if (items.length === 0) return showError(new Error('nothing to add: paste some text first'))
  void act($('add-chunks'), async () => {
    for (let i = 0; i < items.length; i += BATCH) {
      const { rejected } = await client.uploadVectors(items.slice(i, i + BATCH))
      if (rejected.length > 0) throw new Error(`${rejected.length} chunks refused: ${rejected[0].code} ${rejected[0].message}`)
    }
    $('chunks').value = ''
    await refreshCounts()
  })
})

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const vector = embed($('query').value)
  if (!vector) return showError(new Error('type a few words to search for'))
  void act($('search'), async () => {
    const { results, exact } = await client.searchVectors(vector, { k: Number($('k').value) })
    const list = $('results')
    list.dataset.exact = String(exact)
    if (results.length === 0) {
      const li = document.createElement('li')
      li.className = 'muted'
      li.textContent = 'No chunks yet.'
      list.replaceChildren(li)
      return
    }
    list.replaceChildren(
      ...results.map((r) => {
        const li = document.createElement('li')
        li.dataset.id = r.id
        const score = document.createElement('span')
        score.className = 'score'
        score.textContent = r.score.toFixed(3)
        const text = document.createElement('span')
        text.textContent = r.metadata?.text ?? r.id
        li.append(score, text)
        return li
      }),
    )
  })
})

document.body.dataset.ready = 'true'
console.info(`example ready: ${DIMS}-dim feature hashing, host ${$('host').value}`)
