// bench:load's own logic: percentiles, flags, the verdict, the report's JSON and text.
import t from 'tap'
import { DEFAULT_DURATION_S, USAGE, flagsUsed, parseLoadArgs, type LoadOptions } from '../../bench/load/args.js'
import { Pacer } from '../../bench/load/pacer.js'
import { buildReport, formatReport, hostFigures, verdict, type HostReport } from '../../bench/load/report.js'
import { Recorder, percentile, summarize } from '../../bench/load/stats.js'

const parse = (...argv: string[]): LoadOptions => {
  const o = parseLoadArgs(argv)
  if (o === 'help') throw new Error('unexpected help')
  return o
}

t.test('percentiles: nearest rank over known arrays; empty is NaN', async (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1) // 1..100
  t.equal(percentile(xs, 50), 50)
  t.equal(percentile(xs, 95), 95)
  t.equal(percentile(xs, 99), 99)
  t.equal(percentile(xs, 100), 100)
  t.equal(percentile(xs, 0), 1)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([1, 2, 3, 4], 50), 2)
  t.ok(Number.isNaN(percentile([], 50)))

  t.same(summarize([5, 1, 4, 2, 3]), { count: 5, p50: 3, p95: 5, p99: 5, max: 5 })
  const input = [3, 1, 2]
  summarize(input)
  t.same(input, [3, 1, 2], 'the input is not sorted in place')
  const empty = summarize([])
  t.equal(empty.count, 0)
  t.ok([empty.p50, empty.p95, empty.p99, empty.max].every(Number.isNaN))
})

t.test('flags: defaults', async (t) => {
  const o = parse()
  t.same(o, {
    url: undefined,
    clients: 200,
    duration: DEFAULT_DURATION_S,
    rounds: undefined,
    vectors: 200,
    dim: 384,
    batch: 100,
    searches: 2,
    thinkMs: 0,
    rate: Infinity,
    reinit: false,
    churn: 0,
    seed: 42,
    timeoutMs: 30_000,
    json: undefined,
    adminToken: undefined,
  })
  t.equal(parseLoadArgs(['--help']), 'help')
})

t.test('flags: `--flag value` and `--flag=value` read the same', async (t) => {
  const spaced = parse(
    '--url',
    'http://10.0.0.5:8080/',
    '--clients',
    '500',
    '--duration',
    '60',
    '--vectors',
    '10',
    '--dim',
    '16',
    '--batch',
    '5',
    '--searches',
    '3',
    '--think-ms',
    '2.5',
    '--rate',
    '2000',
    '--reinit',
    '--churn',
    '0.1',
    '--seed',
    '7',
    '--timeout-ms',
    '5000',
    '--json',
    'out.json',
    '--admin-token',
    'tok',
  )
  const equals = parse(
    '--url=http://10.0.0.5:8080/',
    '--clients=500',
    '--duration=60',
    '--vectors=10',
    '--dim=16',
    '--batch=5',
    '--searches=3',
    '--think-ms=2.5',
    '--rate=2000',
    '--reinit',
    '--churn=0.1',
    '--seed=7',
    '--timeout-ms=5000',
    '--json=out.json',
    '--admin-token=tok',
  )
  t.same(spaced, equals)
  t.same(spaced, {
    url: 'http://10.0.0.5:8080',
    clients: 500,
    duration: 60,
    rounds: undefined,
    vectors: 10,
    dim: 16,
    batch: 5,
    searches: 3,
    thinkMs: 2.5,
    rate: 2000,
    reinit: true,
    churn: 0.1,
    seed: 7,
    timeoutMs: 5000,
    json: 'out.json',
    adminToken: 'tok',
  })
  t.equal(parse('--rate', 'max').rate, Infinity)
  t.equal(parse('--url', 'wss://h.example/prefix').url, 'wss://h.example/prefix')
})

t.test('flags: --rounds instead of --duration, never both', async (t) => {
  const o = parse('--rounds', '3')
  t.equal(o.rounds, 3)
  t.equal(o.duration, undefined)
  t.equal(parse('--duration=0.5').duration, 0.5)
  t.throws(() => parse('--rounds', '3', '--duration', '5'), { name: 'UsageError', message: /--duration and --rounds/ })
})

t.test('flags: an unknown flag or a bad value is a UsageError naming the flag', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--bogus'], /--bogus/],
    [['--clients'], /--clients/],
    [['--clients', '0'], /^--clients: expected an integer >= 1, got '0'/],
    [['--clients=1.5'], /^--clients:/],
    [['--clients=abc'], /^--clients:/],
    [['--duration', '0'], /^--duration: expected a number > 0/],
    [['--duration=soon'], /^--duration:/],
    [['--rounds', '0'], /^--rounds:/],
    [['--vectors=-1'], /^--vectors:/],
    [['--dim', '70000'], /^--dim: expected an integer in 1\.\.65536/],
    [['--batch=0'], /^--batch:/],
    [['--searches=x'], /^--searches:/],
    [['--think-ms=-1'], /^--think-ms:/],
    [['--rate', '0'], /^--rate:/],
    [['--rate='], /^--rate:/],
    [['--rate', 'fast'], /^--rate:/],
    [['--churn', '1.5'], /^--churn: expected a number >= 0 and <= 1/],
    [['--seed=-3'], /^--seed:/],
    [['--timeout-ms=0'], /^--timeout-ms:/],
    [['--url', 'not a url'], /^--url: not a URL/],
    [['--url', 'ftp://h/'], /^--url: expected http, https, ws or wss/],
    [['--reinit=yes'], /--reinit/],
    [['stray'], /stray/],
  ]
  for (const [argv, message] of bad) t.throws(() => parseLoadArgs(argv), { name: 'UsageError', message }, argv.join(' '))
  t.match(USAGE, /--think-ms/)
})

t.test('flagsUsed records what ran, rate `max` as a word', async (t) => {
  t.same(flagsUsed(parse('--rounds=2')), {
    url: null,
    clients: 200,
    duration: null,
    rounds: 2,
    vectors: 200,
    dim: 384,
    batch: 100,
    searches: 2,
    think_ms: 0,
    rate: 'max',
    reinit: false,
    churn: 0,
    seed: 42,
    timeout_ms: 30_000,
  })
  t.equal(flagsUsed(parse('--rate=50', '--url=ws://h:1')).rate, 50)
})

t.test('the verdict: pass only with no error and no timeout', async (t) => {
  t.same(verdict(0, 0), { verdict: 'pass', line: 'verdict: pass' })
  t.same(verdict(1, 0), { verdict: 'fail', line: 'verdict: fail (1 error, 0 timeouts)' })
  t.same(verdict(3, 1), { verdict: 'fail', line: 'verdict: fail (3 errors, 1 timeout)' })
  t.same(verdict(0, 2), { verdict: 'fail', line: 'verdict: fail (0 errors, 2 timeouts)' })
})

const HOST: HostReport = { rss_mib: 120.5, heap_mib: 30, event_loop_p99_ms: 12.3, started_by_tool: true, persist: 'on', journal_fsync: 'always' }
const MACHINE = { cpu: 'Test CPU', cores: 2, memory_gib: 8, node: 'v20.0.0', platform: 'linux/x64' }

function report(rec: Recorder, host: HostReport = HOST, opts = parse('--clients=4', '--duration=2')) {
  return buildReport({ recorder: rec, elapsedS: 2, host, generatorLoopP99Ms: 4.5, flags: flagsUsed(opts), machine: MACHINE, date: new Date('2026-12-03T10:00:00Z') })
}

t.test('the JSON: counts, rates, percentiles and errors per operation', async (t) => {
  const rec = new Recorder()
  for (const ms of [1, 2, 3, 4]) rec.ok('searchVectors', ms)
  rec.ok('appendMessage', 10)
  rec.fail('appendMessage', 'capacity_exceeded')
  rec.fail('appendMessage', 'capacity_exceeded')
  rec.fail('init', 'rate_limited')
  rec.fail('getHistory', 'timeout')
  t.equal(rec.done, 5)
  const r = JSON.parse(JSON.stringify(report(rec)))
  t.equal(r.verdict, 'fail')
  t.equal(r.errors, 3)
  t.equal(r.timeouts, 1)
  t.same(Object.keys(r.operations), ['init', 'searchVectors', 'appendMessage', 'getHistory'], 'only operations that ran, in workload order')
  t.same(r.operations.searchVectors, { count: 4, ops_per_s: 2, p50_ms: 2, p95_ms: 4, p99_ms: 4, max_ms: 4, errors_by_code: {}, timeouts: 0 })
  t.same(r.operations.appendMessage.errors_by_code, { capacity_exceeded: 2 })
  t.same(r.operations.init, { count: 0, ops_per_s: 0, p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null, errors_by_code: { rate_limited: 1 }, timeouts: 0 })
  t.equal(r.operations.getHistory.timeouts, 1)
  t.same(r.operations.getHistory.errors_by_code, {}, 'a timeout is not an error')
  t.same(r.host, HOST)
  t.same(r.generator, { event_loop_p99_ms: 4.5 })
  t.equal(r.flags.clients, 4)
  t.same(r.machine, MACHINE)
  t.equal(r.date, '2026-12-03T10:00:00.000Z')
  t.equal(r.elapsed_s, 2)
  t.match(r.note, /share/)

  const text = formatReport(report(rec))
  const lines = text.trimEnd().split('\n')
  t.equal(lines.at(-1), 'verdict: fail (3 errors, 1 timeout)', 'the verdict is the last line')
  t.match(text, /\| appendMessage +\| +1 \| +0\.5 \| +10\.00 \|.*capacity_exceeded: 2 \| +0 \|/)
  t.match(text, /\| init +\| +0 \| +0\.0 \| +- \| +- \|/)
  t.match(text, /RSS 120\.5 MiB, heap 30 MiB, event-loop delay p99 12\.3 ms; PERSIST on, JOURNAL_FSYNC always/)
  t.match(text, /started by the tool/)
  t.match(text, /4 clients, 2 s,/)
})

t.test('a clean run passes; unknown host figures and rounds print as such', async (t) => {
  const rec = new Recorder()
  rec.ok('connect', 250)
  rec.ok('endSession', 0.5)
  const host = { rss_mib: null, heap_mib: null, event_loop_p99_ms: null, started_by_tool: false, persist: 'unknown', journal_fsync: 'unknown' }
  const r = report(rec, host, parse('--rounds=3', '--reinit', '--churn=0.1', '--url=http://h:1'))
  t.equal(r.verdict, 'pass')
  t.equal(r.errors + r.timeouts, 0)
  const text = formatReport(r)
  t.equal(text.trimEnd().split('\n').at(-1), 'verdict: pass')
  t.match(text, /3 rounds/)
  t.match(text, /reinit, churn 0\.1/)
  t.match(text, /given by --url\): RSS \? MiB, heap \? MiB, event-loop delay p99 \? ms; PERSIST unknown/)
  t.match(text, /\| connect +\| +1 \| +0\.5 \| +250 \|/)
  t.equal(buildReport({ recorder: rec, elapsedS: 0, host, generatorLoopP99Ms: null, flags: {}, machine: MACHINE, date: new Date() }).operations.connect!.ops_per_s, 0)
  t.match(
    formatReport(buildReport({ recorder: new Recorder(), elapsedS: 1, host, generatorLoopP99Ms: null, flags: flagsUsed(parse()), machine: MACHINE, date: new Date() })),
    /load generator: event-loop delay p99 \? ms/,
  )
})

t.test("the host's figures from /metrics", async (t) => {
  const text = [
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    'process_resident_memory_bytes 125829120',
    'nodejs_heap_size_used_bytes 31457280',
    'nodejs_eventloop_lag_p99_seconds 0.0123',
    'nodejs_eventloop_lag_p99_seconds_other 9',
  ].join('\n')
  t.same(hostFigures(text), { rss_mib: 120, heap_mib: 30, event_loop_p99_ms: 12.3 })
  t.same(hostFigures('process_resident_memory_bytes{pid="1"} 1048576\nnodejs_heap_size_used_bytes NaN\n'), { rss_mib: 1, heap_mib: null, event_loop_p99_ms: null })
  t.same(hostFigures(''), { rss_mib: null, heap_mib: null, event_loop_p99_ms: null })
})

t.test('the pacer: no wait at `max`; paced slots resolve in turn', async (t) => {
  await new Pacer(Infinity).take()
  const p = new Pacer(1000)
  await Promise.all([p.take(), p.take(), p.take()])
  t.pass('three slots of a 1000/s pacer taken')
})
