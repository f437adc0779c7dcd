// Every setting of the host: its environment variable, default, bounds and
// meaning, in one table. loadConfig() validates them all at start and names the
// offending variable; README.md's configuration table is generated from SETTINGS
// (npm run docs:config) and a test keeps the two in step.

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'string'; pattern?: RegExp; hint?: string }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'bool' }
  | { type: 'origins'; wildcard: boolean }

interface Setting {
  env: string
  kind: Kind
  default: string | undefined
  doc: string
}

const MiB = 1024 * 1024
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => ({ type: 'int' as const, min, max })

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const SETTINGS = {
  host: { env: 'HOST', kind: { type: 'string' }, default: '127.0.0.1', doc: 'Address to listen on (`0.0.0.0` for all interfaces).' },
  port: { env: 'PORT', kind: int(0, 65535), default: '8080', doc: 'TCP port (0 picks a free one).' },
  logLevel: { env: 'LOG_LEVEL', kind: { type: 'enum', values: LOG_LEVELS }, default: 'info', doc: 'pino log level.' },
  dataDir: { env: 'DATA_DIR', kind: { type: 'string' }, default: './data', doc: 'Where the host keeps its identity key (`host.key`, mode 0600) and its journal (`journal/`).' },
  persist: {
    env: 'PERSIST',
    kind: { type: 'bool' },
    default: 'true',
    doc: 'Journal every change to `DATA_DIR/journal` and recover it at start; `off` keeps sessions in memory only and writes nothing.',
  },
  journalFsync: {
    env: 'JOURNAL_FSYNC',
    kind: { type: 'enum', values: ['always', 'interval', 'off'] },
    default: 'always',
    doc: '`always`: a change is fsynced before it is acknowledged; `interval`: fsync every `JOURNAL_FSYNC_MS` (a power cut may lose that much); `off`: never fsync (the OS writes back). In every mode the record is written to the file before the reply.',
  },
  journalFsyncMs: { env: 'JOURNAL_FSYNC_MS', kind: int(10, 60_000), default: '1000', doc: 'fsync period of `JOURNAL_FSYNC=interval`.' },
  journalSnapshotBytes: {
    env: 'JOURNAL_SNAPSHOT_BYTES',
    kind: int(4096),
    default: String(64 * MiB),
    doc: 'Journal bytes since the last snapshot that trigger a new one (the journal before it is then deleted).',
  },
  journalSnapshotMs: { env: 'JOURNAL_SNAPSHOT_MS', kind: int(1000), default: '600000', doc: 'Longest time a non-empty journal goes without a snapshot.' },
  journalRetryMs: {
    env: 'JOURNAL_RETRY_MS',
    kind: int(10),
    default: '1000',
    doc: 'While journal writes fail (`/ready` answers 503): how often the host tries again by itself; also the `retry_after_ms` of the refused changes.',
  },
  hostSecretKey: {
    env: 'HOST_SECRET_KEY',
    kind: { type: 'string', pattern: /^[A-Za-z0-9+/]{43}=$/, hint: 'base64 of 32 bytes' },
    default: undefined,
    doc: 'Host X25519 secret key (base64, 32 bytes). Overrides the key file in `DATA_DIR`.',
  },
  maxSessions: { env: 'MAX_SESSIONS', kind: int(1), default: '1000', doc: 'Sessions held at once (all statuses).' },
  maxConnections: { env: 'MAX_CONNECTIONS', kind: int(1), default: '10000', doc: 'Open WebSockets at once; further upgrades get HTTP 503.' },
  maxConnectionsPerIp: {
    env: 'MAX_CONNECTIONS_PER_IP',
    kind: int(0),
    default: '1000',
    doc: 'Open WebSockets from one client address; further upgrades get HTTP 429 with `Retry-After` (0: no limit). Behind a balancer it needs `TRUST_PROXY`, or every client shares the balancer address.',
  },
  maxConnectionsPerSession: {
    env: 'MAX_CONNECTIONS_PER_SESSION',
    kind: int(0),
    default: '32',
    doc: 'Connections bound to one session at once; a further init answers `limit_exceeded` (0: no limit).',
  },
  maxSessionsPerIp: {
    env: 'MAX_SESSIONS_PER_IP',
    kind: int(0),
    default: '500',
    doc: 'Live (`active` or `detached`) sessions created from one client address; a further new session answers `limit_exceeded` (0: no limit).',
  },
  initRatePerIp: {
    env: 'INIT_RATE_PER_IP',
    kind: int(0),
    default: '1200',
    doc: 'Session inits per minute from one client address (a token bucket that holds one minute of them); over it an init answers `rate_limited` with `retry_after_ms` (0: no limit).',
  },
  maxFrameBytes: { env: 'MAX_FRAME_BYTES', kind: int(1024, 256 * MiB), default: String(16 * MiB), doc: 'Largest inbound frame; larger closes the socket with 1009.' },
  maxBatch: { env: 'MAX_BATCH', kind: int(1), default: '1000', doc: 'Vectors in one `uploadVectors` request.' },
  maxVectorsPerSession: { env: 'MAX_VECTORS_PER_SESSION', kind: int(1), default: '100000', doc: 'Vectors one session may hold.' },
  maxDims: { env: 'MAX_DIMS', kind: int(1, 65536), default: '4096', doc: 'Values in one vector.' },
  maxK: { env: 'MAX_K', kind: int(1, 10000), default: '100', doc: 'Largest `k` of a search.' },
  maxMetadataBytes: { env: 'MAX_METADATA_BYTES', kind: int(2), default: '10240', doc: "UTF-8 bytes of one vector's metadata JSON." },
  maxMessageChars: { env: 'MAX_MESSAGE_CHARS', kind: int(1), default: '32768', doc: 'UTF-16 code units of one history message.' },
  maxHistory: { env: 'MAX_HISTORY', kind: int(1), default: '10000', doc: 'Messages one session keeps (all attempts); past it appends get `limit_exceeded`.' },
  maxVectorBytes: {
    env: 'MAX_VECTOR_BYTES',
    kind: int(0),
    default: String(1024 * MiB),
    doc: 'Host-wide budget of vector memory: the float32 values, and the HNSW graphs of sessions past `EXACT_SEARCH_MAX_VECTORS` (docs/VECTORS.md, "Budget").',
  },
  exactSearchMaxVectors: {
    env: 'EXACT_SEARCH_MAX_VECTORS',
    kind: int(0),
    default: '1000',
    doc: 'At or below this many vectors a session is searched exactly; above it an HNSW index is built off the event loop.',
  },
  hnswM: { env: 'HNSW_M', kind: int(2, 128), default: '16', doc: 'HNSW graph degree (M).' },
  hnswEfConstruction: { env: 'HNSW_EF_CONSTRUCTION', kind: int(8, 4096), default: '200', doc: 'HNSW build beam width.' },
  hnswEfSearch: { env: 'HNSW_EF_SEARCH', kind: int(8, 4096), default: '64', doc: 'HNSW search beam width (raised to `k` when smaller).' },
  initClockSkewMs: { env: 'INIT_CLOCK_SKEW_MS', kind: int(1000), default: '300000', doc: 'Largest difference between an init `ts` and the host clock.' },
  replayWindowMs: { env: 'REPLAY_WINDOW_MS', kind: int(1000), default: '600000', doc: 'How long an accepted init `eph_pub` is remembered.' },
  replayCacheMax: { env: 'REPLAY_CACHE_MAX', kind: int(1), default: '200000', doc: 'Entries the init replay cache holds; when full, new inits get `rate_limited`.' },
  reconnectGraceMs: { env: 'RECONNECT_GRACE_MS', kind: int(0), default: '600000', doc: 'How long a session with no connection stays `detached` before it is `abandoned`.' },
  retentionMs: { env: 'RETENTION_MS', kind: int(0), default: '3600000', doc: 'How long `abandoned` and `ended` sessions are kept before they are dropped.' },
  sweepIntervalMs: { env: 'SWEEP_INTERVAL_MS', kind: int(10), default: '5000', doc: 'How often lifecycle deadlines and caches are swept.' },
  heartbeatIntervalMs: { env: 'HEARTBEAT_INTERVAL_MS', kind: int(10), default: '30000', doc: 'WebSocket ping interval; a socket that misses a pong by the next ping is closed.' },
  rateLimitPerSec: { env: 'RATE_LIMIT_PER_SEC', kind: int(0), default: '200', doc: 'Requests per second per connection (0 disables).' },
  rateLimitBurst: { env: 'RATE_LIMIT_BURST', kind: int(1), default: '400', doc: 'Burst allowance of the per-connection rate limit.' },
  httpRateLimitMax: { env: 'HTTP_RATE_LIMIT_MAX', kind: int(0), default: '600', doc: 'HTTP requests (and WebSocket upgrades) per minute per client address (0 disables).' },
  connectionQueueMax: { env: 'CONNECTION_QUEUE_MAX', kind: int(1), default: '64', doc: 'Frames queued on one connection before the host stops reading from it.' },
  maxInflightBytes: {
    env: 'MAX_INFLIGHT_BYTES',
    kind: int(1024),
    default: String(256 * MiB),
    doc: 'Host-wide budget of inbound bytes read but not yet answered (partial and queued frames); past it the host stops reading from sockets until the backlog drains. At least `MAX_FRAME_BYTES`.',
  },
  maxOutboundBytes: {
    env: 'MAX_OUTBOUND_BYTES',
    kind: int(1024),
    default: String(32 * MiB),
    doc: 'Unsent reply bytes of one connection past which none of its further requests is carried out until the client reads them.',
  },
  slowClientMs: {
    env: 'SLOW_CLIENT_MS',
    kind: int(10),
    default: '30000',
    doc: 'How long a connection may stay over `MAX_OUTBOUND_BYTES` before it is closed (1008, `connection.slow_consumer`).',
  },
  cryptoOffloadBytes: {
    env: 'CRYPTO_OFFLOAD_BYTES',
    kind: int(0),
    default: '65536',
    doc: 'Inbound frames and replies at least this large are parsed, opened and sealed on a worker thread.',
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    kind: int(0),
    default: '10000',
    doc: 'Longest a graceful shutdown (SIGTERM/SIGINT) may take before the process exits anyway; frames already received get up to half of it (at most 3 s) to be answered.',
  },
  readyMaxEventLoopDelayMs: {
    env: 'READY_MAX_EVENT_LOOP_DELAY_MS',
    kind: int(0),
    default: '250',
    doc: 'Mean event-loop delay (sampled every second) past which `/ready` answers 503 and new upgrades are refused, while open connections keep being served (0: never).',
  },
  readyMaxHeapUsedBytes: {
    env: 'READY_MAX_HEAP_USED_BYTES',
    kind: int(0),
    default: '0',
    doc: 'Heap in use past which `/ready` answers 503 and new upgrades are refused; `0` means 90 % of the V8 heap limit (`--max-old-space-size`).',
  },
  adminToken: {
    env: 'ADMIN_TOKEN',
    kind: { type: 'string', pattern: /^[\x21-\x7e]{16,}$/, hint: 'at least 16 printable characters, no spaces' },
    default: undefined,
    doc: 'Enables the admin API (`/v1/admin`) and the console (`/admin`), for callers that send `Authorization: Bearer <token>`. Unset: both answer 404.',
  },
  adminTokenFile: {
    env: 'ADMIN_TOKEN_FILE',
    kind: { type: 'string' },
    default: undefined,
    doc: 'A file holding the admin token (a mounted secret; one trailing newline is ignored). Not together with `ADMIN_TOKEN`.',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    kind: { type: 'enum', values: ['json', 'pretty'] },
    default: 'json',
    doc: '`json`: one pino JSON line per event (production); `pretty`: coloured lines through pino-pretty, a dev dependency (`npm run start:pretty`).',
  },
  trustProxy: { env: 'TRUST_PROXY', kind: { type: 'bool' }, default: 'false', doc: 'Trust `X-Forwarded-For` from the load balancer for client addresses.' },
  metricsEnabled: { env: 'METRICS_ENABLED', kind: { type: 'bool' }, default: 'true', doc: 'Serve Prometheus metrics at `GET /metrics`.' },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    kind: { type: 'origins', wildcard: true },
    default: '*',
    doc: 'Browser origins that may read `GET /v1/host` (CORS): `*` for any, or a comma-separated list such as `https://app.example.com,http://localhost:5173`.',
  },
  allowedOrigins: {
    env: 'ALLOWED_ORIGINS',
    kind: { type: 'origins', wildcard: false },
    default: undefined,
    doc: 'When set, a comma-separated list of the only `Origin`s whose WebSocket upgrades are accepted (others get HTTP 403); an upgrade without `Origin` (a non-browser client) is always accepted.',
  },
  clusterRedisUrl: {
    env: 'CLUSTER_REDIS_URL',
    kind: { type: 'string', pattern: /^rediss?:\/\/\S+$/, hint: 'a redis:// or rediss:// URL (redis://[user:password@]host[:port][/db])' },
    default: undefined,
    doc: 'Cluster mode (docs/SCALING.md): the Redis that holds every session (journal, snapshots, leases). Password and TLS (`rediss://`) go in the URL. Unset: one host, the local journal.',
  },
  nodeId: {
    env: 'NODE_ID',
    kind: { type: 'string', pattern: /^[A-Za-z0-9._:-]{1,128}$/, hint: '1 to 128 of A-Z a-z 0-9 . _ : -' },
    default: undefined,
    doc: 'Name of this host in the cluster (leases, `GET /v1/admin/cluster`); unset: `<hostname>:<PORT>`.',
  },
  clusterLeaseMs: {
    env: 'CLUSTER_LEASE_MS',
    kind: int(1000, 600_000),
    default: '10000',
    doc: "How long a host's lease on a session lasts without renewal (it renews every third of it): after a host dies, its sessions move once this has passed.",
  },
  clusterHoldMs: {
    env: 'CLUSTER_HOLD_MS',
    kind: int(0, 600_000),
    default: '5000',
    doc: 'A session stays on a host at least this long after it arrived there before it is handed to another (stops two connections on two hosts from bouncing it).',
  },
  clusterHandoffMs: {
    env: 'CLUSTER_HANDOFF_MS',
    kind: int(100, 60_000),
    default: '3000',
    doc: 'How long an init waits for the owning host to hand a session over before it is answered `unavailable` (retry).',
  },
} as const satisfies Record<string, Setting>

type Settings = typeof SETTINGS
type ValueOf<K extends Kind> = K extends { type: 'int' } ? number : K extends { type: 'bool' } ? boolean : K extends { type: 'origins' } ? readonly string[] : string
type Default<S extends Setting> = S['default'] extends string ? never : undefined

export type Config = {
  readonly [K in keyof Settings]: ValueOf<Settings[K]['kind']> | Default<Settings[K]>
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** `scheme://host[:port]`, as a browser sends it in `Origin` (no path, no query). */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s,]+\/?$/i

/**
 * A comma-separated list of origins, each normalised the way browsers
 * serialise `Origin` (lower-case scheme and host, no default port), so a
 * plain string comparison decides. `['*']` when the wildcard is allowed and given.
 */
function parseOrigins(raw: string, wildcard: boolean, fail: (expected: string) => never): readonly string[] {
  const expected = `${wildcard ? '`*` or ' : ''}a comma-separated list of origins (scheme://host[:port])`
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
  if (entries.length === 0) fail(expected)
  if (wildcard && entries.length === 1 && entries[0] === '*') return ['*']
  return entries.map((e) => {
    if (!ORIGIN.test(e)) return fail(expected)
    let origin: string
    try {
      origin = new URL(e).origin
    } catch {
      return fail(expected)
    }
    return origin === 'null' ? fail(expected) : origin
  })
}

function parseValue(key: string, s: Setting, raw: string): number | string | boolean | readonly string[] {
  const fail = (expected: string): never => {
    throw new ConfigError(`${s.env} must be ${expected} (got ${JSON.stringify(raw)})`)
  }
  const k = s.kind
  switch (k.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) fail(`an integer from ${k.min} to ${k.max}`)
      const n = Number(raw.trim())
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) fail(`an integer from ${k.min} to ${k.max}`)
      return n
    }
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      return fail('true or false')
    }
    case 'enum':
      if (!k.values.includes(raw)) fail(`one of ${k.values.join(', ')}`)
      return raw
    case 'string':
      if (raw.length === 0) fail('a non-empty string')
      if (k.pattern && !k.pattern.test(raw)) fail(k.hint ?? `a string matching ${k.pattern}`)
      return raw
    case 'origins':
      return parseOrigins(raw, k.wildcard, fail)
    default:
      throw new ConfigError(`unknown kind of setting ${key}`)
  }
}

/**
 * Reads and validates every setting. Empty variables count as unset.
 * Throws ConfigError naming the first bad variable; `overrides` (for tests and
 * embedding) take precedence over the environment and are validated the same way.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  const out: Record<string, unknown> = {}
  for (const [key, s] of Object.entries(SETTINGS) as [keyof Config, Setting][]) {
    const override = overrides[key]
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- overrides are numbers, booleans or strings from code, parsed like the environment
    const raw = override !== undefined ? String(override) : env[s.env] !== undefined && env[s.env] !== '' ? env[s.env] : s.default
    out[key] = raw === undefined ? undefined : parseValue(key, s, raw)
  }
  const c = out as Config
  if (c.rateLimitPerSec > 0 && c.rateLimitBurst < 1) throw new ConfigError('RATE_LIMIT_BURST must be at least 1')
  if (c.maxMetadataBytes >= c.maxFrameBytes) throw new ConfigError('MAX_METADATA_BYTES must be smaller than MAX_FRAME_BYTES')
  // Below one frame, the one reader let through over the budget could never complete it.
  if (c.maxInflightBytes < c.maxFrameBytes) throw new ConfigError('MAX_INFLIGHT_BYTES must be at least MAX_FRAME_BYTES')
  if (c.adminToken !== undefined && c.adminTokenFile !== undefined) throw new ConfigError('ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set; set one')
  // An init is fresh for INIT_CLOCK_SKEW_MS either side of its ts; its eph_pub
  // must be remembered at least that whole span, or a captured init replays.
  if (c.replayWindowMs < 2 * c.initClockSkewMs) throw new ConfigError('REPLAY_WINDOW_MS must be at least twice INIT_CLOCK_SKEW_MS')
  // Clients see one public key whichever host they reach: a key file per host would give each its own.
  if (c.clusterRedisUrl !== undefined && c.hostSecretKey === undefined)
    throw new ConfigError('CLUSTER_REDIS_URL needs HOST_SECRET_KEY: every host of a cluster shares one identity')
  return c
}

/** The configuration table of README.md, generated so it cannot drift. */
export function configTableMarkdown(): string {
  const rows = Object.values(SETTINGS).map((s: Setting) => {
    const def = s.default === undefined ? '(unset)' : `\`${s.default}\``
    return `| \`${s.env}\` | ${def} | ${s.doc} |`
  })
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n')
}
