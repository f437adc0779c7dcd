// The admin API across a cluster (docs/SCALING.md#operations): any host
// answers for all of them. A request about a session this host does not hold
// is carried to the host that does (pub/sub, cluster/node-rpc.ts), which runs
// it through its own admin routes, so validation, logging and actions are the
// same wherever it lands; lists and sweeps go to every live host and are
// merged. A carried request is marked (FORWARDED_HEADER) so it is answered
// from the receiving host alone, never carried on.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AdminAnswer, AdminRequest, Cluster } from '../../cluster/cluster.js'
import type { HostContext } from '../../dispatch/context.js'
import { AdminError } from './errors.js'

export const FORWARDED_HEADER = 'x-rsh-forwarded-by'

export function isForwarded(req: FastifyRequest): boolean {
  return req.headers[FORWARDED_HEADER] !== undefined
}

/** The request, as another host's admin routes take it. */
function carried(req: FastifyRequest): AdminRequest {
  return { method: req.method as AdminRequest['method'], url: req.url, ...(req.body === undefined ? {} : { body: req.body }) }
}

/** Runs a carried request through this host's own admin routes (`token`: this host's, the caller was checked where it came in). */
export function serveCarried(app: FastifyInstance, cluster: Cluster, token: string): void {
  cluster.onAdmin(async (req, from) => {
    const res = await app.inject({
      method: req.method,
      url: req.url,
      headers: { authorization: `Bearer ${token}`, [FORWARDED_HEADER]: from, ...(req.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(req.body === undefined ? {} : { payload: JSON.stringify(req.body) }),
    })
    return { status: res.statusCode, body: res.json<unknown>() }
  })
}

async function others(cluster: Cluster): Promise<string[]> {
  return (await cluster.nodes()).filter((n) => n.alive && !n.self).map((n) => n.node_id)
}

function send(reply: FastifyReply, a: AdminAnswer): FastifyReply {
  return reply.code(a.status).send(a.body)
}

/** What every host answered to `req` (the unreachable ones are left out and named). */
async function fanOut(cluster: Cluster, req: AdminRequest): Promise<{ answers: (AdminAnswer & { node: string })[]; unreachable: string[] }> {
  const nodes = await others(cluster)
  const settled = await Promise.allSettled(nodes.map((n) => cluster.askAdmin(n, req)))
  const answers: (AdminAnswer & { node: string })[] = []
  const unreachable: string[] = []
  settled.forEach((r, i) => (r.status === 'fulfilled' ? answers.push({ ...r.value, node: nodes[i]! }) : unreachable.push(nodes[i]!)))
  return { answers, unreachable }
}

interface Page {
  sessions: { seq: number; node_id?: string }[]
  next_cursor: string | null
}

/**
 * The cluster's sessions: each host's page after the cursor, merged in seq
 * order (session numbers are cluster-wide: rsh:seq), cut to the limit. The
 * cursor is the last seq shown, as on one host.
 */
export async function listAll(cluster: Cluster, req: FastifyRequest, local: Page, limit: number, cursorOf: (seq: number) => string): Promise<object> {
  const { answers, unreachable } = await fanOut(cluster, carried(req))
  const tagged = local.sessions.map((s) => ({ ...s, node_id: cluster.nodeId }))
  let more = local.next_cursor !== null
  for (const a of answers) {
    if (a.status !== 200) continue
    const page = a.body as Page
    tagged.push(...page.sessions.map((s) => ({ ...s, node_id: a.node })))
    more ||= page.next_cursor !== null
  }
  tagged.sort((x, y) => x.seq - y.seq)
  const shown = tagged.slice(0, limit)
  more ||= tagged.length > limit
  const last = shown.at(-1)
  return { sessions: shown, next_cursor: more && last ? cursorOf(last.seq) : null, unreachable_nodes: unreachable }
}

/** A request about a session this host does not hold: answered by the host that holds it, or 404. */
export async function toOwner(cluster: Cluster, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { answers } = await fanOut(cluster, { method: 'GET', url: sessionUrl(req.url) })
  const owner = answers.find((a) => a.status === 200)
  if (!owner) throw new AdminError('not_found', 'no such session on any host of the cluster')
  if (req.method === 'GET') return send(reply, { status: 200, body: { ...(owner.body as object), node_id: owner.node } })
  const answer = await cluster.askAdmin(owner.node, carried(req))
  return send(reply, { status: answer.status, body: answer.status === 200 ? { ...(answer.body as object), node_id: owner.node } : answer.body })
}

/** /v1/admin/sessions/<ref>[/end] -> /v1/admin/sessions/<ref> */
function sessionUrl(url: string): string {
  return url.replace(/\/end(\?.*)?$/, '')
}

/** A sweep on every host: what each recovered, with the host it was on. */
export async function sweepAll(cluster: Cluster, req: FastifyRequest, local: readonly object[]): Promise<object> {
  const { answers, unreachable } = await fanOut(cluster, carried(req))
  const abandoned = local.map((a) => ({ ...a, node_id: cluster.nodeId }))
  for (const a of answers) if (a.status === 200) abandoned.push(...(a.body as { abandoned: object[] }).abandoned.map((x) => ({ ...x, node_id: a.node })))
  return { abandoned, unreachable_nodes: unreachable }
}

/** GET /v1/admin/cluster: the hosts, their sessions and leases, their last heartbeat. */
export async function clusterView(ctx: HostContext, cluster: Cluster): Promise<object> {
  return {
    node_id: cluster.nodeId,
    lease_ms: ctx.config.clusterLeaseMs,
    leases_held: cluster.leases.size,
    redis_reachable: cluster.ready,
    nodes: await cluster.nodes(),
  }
}
