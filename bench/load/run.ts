// bench:load's orchestration: the host (given or started), the clients, the
// progress line, the host's figures at the end, the report and the exit code.
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { endpoints } from '@rag-session-host/client'
import { startHostProcess, type HostProcess } from '../host/spawn.js'
import { flagsUsed, type LoadOptions } from './args.js'
import { Pacer } from './pacer.js'
import { buildReport, formatReport, hostFigures, type HostReport } from './report.js'
import { Recorder } from './stats.js'
import { runClient } from './workload.js'

export interface Io {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

/** A one-line reason for a failed fetch: the system's code (ECONNREFUSED, ENOTFOUND, …) when there is one. */
function reason(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; message?: string }
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  return res.json()
}

/** Exit code: 0 pass, 1 fail or a host that cannot be reached or started. */
export async function runLoad(opts: LoadOptions, io: Io): Promise<number> {
  let spawned: HostProcess | undefined
  let url: string
  let hostPublicKey: string
  if (opts.url === undefined) {
    try {
      spawned = await startHostProcess({
        MAX_CONNECTIONS_PER_IP: '0',
        MAX_SESSIONS_PER_IP: '0',
        INIT_RATE_PER_IP: '0',
        MAX_SESSIONS: String(Math.max(1000, opts.clients * 2)),
      })
    } catch (err) {
      io.stderr(`bench:load: cannot start a host: ${(err as Error).message}\n`)
      return 1
    }
    url = spawned.url
    hostPublicKey = spawned.publicKey
  } else {
    url = opts.url
    // The key once for all clients: 500 clients fetching GET /v1/host would meet its HTTP rate limit.
    try {
      const info = (await getJson(endpoints(url).hostInfoUrl)) as { public_key?: unknown }
      if (typeof info.public_key !== 'string') throw new Error('GET /v1/host has no public_key')
      hostPublicKey = info.public_key
    } catch (err) {
      io.stderr(`bench:load: cannot reach ${url}: ${reason(err)}\n`)
      return 1
    }
  }
  const httpBase = endpoints(url).hostInfoUrl.replace(/\/v1\/host$/, '')

  try {
    const recorder = new Recorder()
    const pacer = new Pacer(opts.rate)
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    const t0 = performance.now()
    const deadline = opts.duration === undefined ? undefined : t0 + opts.duration * 1000
    let last = { t: t0, done: 0 }
    const progress = setInterval(() => {
      const now = performance.now()
      const rate = ((recorder.done - last.done) * 1000) / (now - last.t)
      last = { t: now, done: recorder.done }
      io.stderr(`[${((now - t0) / 1000).toFixed(0).padStart(4)} s] ${rate.toFixed(0)} ops/s, ${recorder.errors} errors, ${recorder.timeouts} timeouts so far\n`)
    }, 1000)
    const sessionPrefix = `load-${Date.now().toString(36)}-`
    try {
      await Promise.all(Array.from({ length: opts.clients }, (_, index) => runClient({ index, url, hostPublicKey, sessionPrefix, opts, deadline, recorder, pacer })))
    } finally {
      clearInterval(progress)
      loop.disable()
    }
    const elapsedS = (performance.now() - t0) / 1000

    let figures: ReturnType<typeof hostFigures> = { rss_mib: null, heap_mib: null, event_loop_p99_ms: null }
    try {
      const res = await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(10_000) })
      if (res.ok) figures = hostFigures(await res.text())
      else io.stderr(`bench:load: GET /metrics answered ${res.status}: no host figures\n`)
    } catch (err) {
      io.stderr(`bench:load: GET /metrics failed: ${reason(err)}\n`)
    }
    let persist = 'unknown'
    let fsync = 'unknown'
    if (spawned) {
      const journal = (await spawned.stats()).journal
      persist = journal ? 'on' : 'off'
      fsync = journal ? (process.env.JOURNAL_FSYNC ?? 'always') : 'n/a'
    } else if (opts.adminToken !== undefined) {
      try {
        const stats = (await getJson(`${httpBase}/v1/admin/stats`, { authorization: `Bearer ${opts.adminToken}` })) as { journal?: { enabled?: boolean } }
        if (typeof stats.journal?.enabled === 'boolean') persist = stats.journal.enabled ? 'on' : 'off'
      } catch (err) {
        io.stderr(`bench:load: GET /v1/admin/stats failed: ${reason(err)}\n`)
      }
    }
    const host: HostReport = { ...figures, started_by_tool: spawned !== undefined, persist, journal_fsync: fsync }
    const generatorP99 = loop.count > 0 ? Math.round(loop.percentile(99) / 1e4) / 100 : null
    const cpus = os.cpus()
    const report = buildReport({
      recorder,
      elapsedS,
      host,
      generatorLoopP99Ms: generatorP99,
      flags: flagsUsed(opts),
      machine: {
        cpu: cpus[0]?.model ?? 'unknown',
        cores: cpus.length,
        memory_gib: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      },
      date: new Date(),
    })
    if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n')
    io.stdout(formatReport(report))
    return report.verdict === 'pass' ? 0 : 1
  } finally {
    await spawned?.stop()
  }
}
