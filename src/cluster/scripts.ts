// What a cluster keeps in Redis (docs/SCALING.md), and the Lua scripts that
// change it atomically. Per session, four keys share the hash tag {<id>}:
//
//   rsh:{id}:lease  "<node>|<epoch>", PX CLUSTER_LEASE_MS: who serves it now
//   rsh:{id}:owner  hash node, epoch, released, client: the latest owner's epoch (the fence), the session's identity
//   rsh:{id}:log    stream of sealed journal records (field r)
//   rsh:{id}:snap   hash: meta (JSON) and the chunks of the latest snapshot (c:<gen>:<i>)
//
// and cluster-wide: rsh:fence (the epoch counter: INCR on every takeover, so
// epochs only grow), rsh:seq (session numbers), rsh:identity (the host public
// key), rsh:nodes (host directory). Every write of session data goes through
// a script that first compares the writer's epoch with owner.epoch, so a host
// that lost its lease can never write over the next owner. The session's keys
// expire CLUSTER idle TTL after its owner last renewed them (reconnect grace +
// retention): a session whose host died and that nobody reopens is dropped by
// Redis as the host would have dropped it.
import { createHash } from 'node:crypto'

export const PREFIX = 'rsh:'

export interface SessionKeys {
  lease: string
  owner: string
  log: string
  snap: string
}

export function sessionKeys(sessionId: string): SessionKeys {
  const tag = `${PREFIX}{${sessionId}}`
  return { lease: `${tag}:lease`, owner: `${tag}:owner`, log: `${tag}:log`, snap: `${tag}:snap` }
}

export const FENCE_KEY = `${PREFIX}fence`
export const SEQ_KEY = `${PREFIX}seq`
export const IDENTITY_KEY = `${PREFIX}identity`
export const NODES_KEY = `${PREFIX}nodes`
/** Pub/sub channel of one host: requests to it (hand-offs, admin actions). */
export const nodeChannel = (nodeId: string): string => `${PREFIX}node:${nodeId}`

export interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
}

function script(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

/** The error text a fenced write fails with (a stale epoch). */
export const FENCED = 'FENCED'

const FENCE_CHECK = `if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return redis.error_reply('${FENCED} the session has a newer owner') end`

/**
 * KEYS lease owner log snap fence; ARGV node leaseMs idleMs.
 * Ours already: {1, epoch, 0}. Another's: {0, node, pttl}. Free: takes it with
 * a new epoch: {1, epoch, 1 when the last owner never released it (a takeover after expiry) else 0}.
 */
export const ACQUIRE = script(
  'acquire',
  `local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local node = string.sub(cur, 1, sep - 1)
  if node == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(string.sub(cur, sep + 1)), 0}
  end
  return {0, node, redis.call('PTTL', KEYS[1])}
end
local prev = redis.call('HGET', KEYS[2], 'node')
local released = redis.call('HGET', KEYS[2], 'released')
local epoch = redis.call('INCR', KEYS[5])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'epoch', epoch, 'released', '0')
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
local takeover = 0
if prev and prev ~= ARGV[1] and released == '0' then takeover = 1 end
return {1, epoch, takeover}`,
)

/**
 * KEYS lease owner log snap; ARGV node epoch leaseMs idleMs. 1: renewed (also
 * when it had expired and nobody took it: the epoch proves it is still ours). 0: lost.
 */
export const RENEW = script(
  'renew',
  `local want = ARGV[1] .. '|' .. ARGV[2]
local cur = redis.call('GET', KEYS[1])
if cur == want then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
elseif (not cur) and redis.call('HGET', KEYS[2], 'epoch') == ARGV[2] then
  redis.call('SET', KEYS[1], want, 'PX', ARGV[3])
else
  return 0
end
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return 1`,
)

/** KEYS lease owner log snap; ARGV node epoch idleMs. Gives the lease up at once; 0 when it was not ours any more. */
export const RELEASE = script(
  'release',
  `if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[2] then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] .. '|' .. ARGV[2] then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[2], 'released', '1')
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1`,
)

/**
 * KEYS owner log; ARGV epoch idleMs client entry...: appends the entries
 * (fenced); returns their stream ids. `client` (non-empty when the batch
 * creates the session) records the owning identity's public key, so a host
 * can refuse another identity's init without moving the session first.
 */
export const APPEND = script(
  'append',
  `${FENCE_CHECK}
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'client', ARGV[3]) end
local ids = {}
for i = 4, #ARGV do ids[#ids + 1] = redis.call('XADD', KEYS[2], '*', 'r', ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ids`,
)

/**
 * KEYS owner log; ARGV epoch afterId: deletes every entry after the last one
 * acknowledged (fenced). After a write whose outcome is unknown (the
 * connection dropped with it in flight), so a change answered "not applied"
 * is never replayed. Returns how many went.
 */
export const VOID = script(
  'void',
  `${FENCE_CHECK}
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2], '+')
for _, e in ipairs(entries) do redis.call('XDEL', KEYS[2], e[1]) end
return #entries`,
)

/**
 * KEYS owner log snap; ARGV epoch gen covers meta: makes snapshot `gen` (its
 * chunks written already) the session's, deletes older chunks and the
 * entries it covers (ids up to `covers`).
 */
export const COMMIT_SNAPSHOT = script(
  'commit_snapshot',
  `${FENCE_CHECK}
local prefix = 'c:' .. ARGV[2] .. ':'
for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
  if f ~= 'meta' and string.sub(f, 1, #prefix) ~= prefix then redis.call('HDEL', KEYS[3], f) end
end
redis.call('HSET', KEYS[3], 'meta', ARGV[4])
if ARGV[3] ~= '0-0' then
  redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
  redis.call('XDEL', KEYS[2], ARGV[3])
end
return 1`,
)

/** KEYS lease owner log snap; ARGV epoch: the session is gone for good (retention, operator): its data goes, fenced. */
export const DELETE_SESSION = script(
  'delete_session',
  `if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then return redis.error_reply('${FENCED} the session has a newer owner') end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('HDEL', KEYS[2], 'client')
redis.call('HSET', KEYS[2], 'released', '1')
return 1`,
)
