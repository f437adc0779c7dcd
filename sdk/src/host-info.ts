// GET /v1/host (PROTOCOL.md §1): the host's protocol, version, public key and limits.
import { decodeBase64 } from './shared/encoding.js'
import { KEY_BYTES } from './shared/sizes.js'
import { PROTOCOL_VERSION, type HostInfo } from './shared/messages.js'
import { HostError, describeError } from './errors.js'
import { isObject } from './shared/json.js'

/** Checks a /v1/host body; throws `protocol_error` when it is not one this client can talk to. */
export function parseHostInfo(body: unknown): HostInfo {
  const bad = (msg: string): HostError => new HostError('protocol_error', msg, { retryable: false })
  if (!isObject(body)) throw bad('host info is not a JSON object')
  if (body.protocol !== PROTOCOL_VERSION) {
    throw bad(`host speaks protocol ${JSON.stringify(body.protocol)}, this client speaks ${PROTOCOL_VERSION}`)
  }
  if (!decodeBase64(body.public_key, KEY_BYTES)) throw bad('host info public_key is not base64 of 32 bytes')
  if (!isObject(body.limits)) throw bad('host info has no limits')
  if (typeof body.version !== 'string') throw bad('host info has no version')
  return body as unknown as HostInfo
}

/** Fetches and checks host info. Network failures are retryable `disconnected`. */
export async function fetchHostInfo(url: string, timeoutMs: number): Promise<HostInfo> {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    throw new HostError('disconnected', `cannot fetch host info from ${url}: ${describeError(err)}`, { cause: err })
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined)
    // 5xx and 429 may pass (a restarting host, a proxy); anything else will not.
    const retryable = res.status >= 500 || res.status === 429
    throw new HostError(retryable ? 'disconnected' : 'protocol_error', `GET ${url} answered HTTP ${res.status}`, { retryable })
  }
  let body: unknown
  try {
    body = await res.json()
  } catch (err) {
    throw new HostError('protocol_error', `GET ${url} did not answer JSON`, { retryable: false, cause: err })
  }
  return parseHostInfo(body)
}
