// Where the host lives: one base URL (ws://, wss://, http:// or https://,
// optionally with a path prefix) gives both `GET /v1/host` and `/v1/ws`.
// A base that already ends in /v1/ws or /v1/host is accepted too. Query,
// fragment and credentials are dropped. The socket URL gets one query
// parameter of the SDK's own: the routing hint (routedWsUrl).
import { HostError } from './errors.js'
import { HOST_INFO_PATH, WS_PATH } from './shared/messages.js'

export interface Endpoints {
  hostInfoUrl: string
  wsUrl: string
}

export function endpoints(base: string): Endpoints {
  let url: URL
  try {
    url = new URL(base)
  } catch (err) {
    throw new HostError('bad_request', `not a URL: ${JSON.stringify(base)}`, { retryable: false, cause: err })
  }
  let http: string
  let ws: string
  switch (url.protocol) {
    case 'ws:':
    case 'http:':
      http = 'http:'
      ws = 'ws:'
      break
    case 'wss:':
    case 'https:':
      http = 'https:'
      ws = 'wss:'
      break
    default:
      throw new HostError('bad_request', `unsupported URL scheme ${url.protocol} (use ws, wss, http or https)`, { retryable: false })
  }
  let path = url.pathname.replace(/\/+$/, '')
  for (const suffix of [WS_PATH, HOST_INFO_PATH]) {
    if (path.endsWith(suffix)) path = path.slice(0, -suffix.length)
  }
  const origin = `${url.host}${path}`
  return { hostInfoUrl: `${http}//${origin}${HOST_INFO_PATH}`, wsUrl: `${ws}//${origin}${WS_PATH}` }
}

/** The query parameter of the routing hint (PROTOCOL.md §8.1): a load balancer hashes it. */
export const ROUTE_HINT_PARAM = 'session_id'

/**
 * The WebSocket URL to open for a connection that will (re-)open `sessionId`:
 * `wsUrl?session_id=<sessionId>`, URL-encoded, so that a load balancer
 * (HAProxy `balance url_param session_id`) sends every connection of a
 * session to the same host. The hint only steers routing: the init stays
 * the authority. Without a session, `wsUrl` as it is.
 */
export function routedWsUrl(wsUrl: string, sessionId: string | undefined): string {
  if (sessionId === undefined) return wsUrl
  return `${wsUrl}?${ROUTE_HINT_PARAM}=${encodeURIComponent(sessionId)}`
}
