// Where the host lives: one base URL (ws://, wss://, http:// or https://,
// optionally with a path prefix) gives both `GET /v1/host` and `/v1/ws`.
// A base that already ends in /v1/ws or /v1/host is accepted too. Query,
// fragment and credentials are dropped.
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
