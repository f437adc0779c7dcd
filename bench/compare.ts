// npm run bench:compare (issue #9, point 2): our stack against its floors,
// measured side by side in one run on one machine, printed as markdown
// tables with ratios. Parts (--parts, all by default):
//   transport  our k=10 search round trip over a bare `ws` echo round trip of the same bytes
//   engine     ... over echo + the same search on hnswlib-node in process
//   handshake  session inits/s through our host against a tweetnacl-only host, same clients
//   workload   bench/load.ts at 50, 200 and 500 clients (its --json), if that tool runs
// See bench/compare/args.ts for the flags; docs/BENCHMARKS.md for a run.
import { readArgs, USAGE, type CompareArgs } from './compare/args.js'
import { loadavg, machine } from './compare/format.js'
import { runHandshake } from './compare/handshake.js'
import { runSearch } from './compare/search.js'
import { runWorkload } from './compare/workload.js'

let args: CompareArgs
try {
  args = readArgs(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err))
  if (err instanceof Error && err.message !== USAGE) console.error(USAGE)
  process.exit(2)
}

const out = (text: string): void => void process.stdout.write(text + '\n')
const started = performance.now()
out(`Machine: ${machine()}`)
out(`Date: ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC; load average at start ${loadavg()}${args.quick ? '; --quick' : ''}`)
out(`Command: npm run bench:compare --${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`)

if (args.parts.has('transport') || args.parts.has('engine')) {
  out('\n### Search: transport and engine floors\n')
  out(await runSearch({ vectors: args.vectors, dim: args.dim, samples: args.samples, blocks: args.blocks, engine: args.parts.has('engine') }))
}
if (args.parts.has('handshake')) {
  out('\n### Handshake: inits per second\n')
  out(await runHandshake({ clients: args.clients, blockSeconds: Math.max(1, Math.min(args.duration, 5)), blocks: args.handshakeBlocks }))
}
if (args.parts.has('workload')) {
  out('\n### Whole workload\n')
  out(await runWorkload({ clients: args.workloadClients, duration: args.duration }))
}
out(`\nLoad average at end ${loadavg()}; ${((performance.now() - started) / 1000).toFixed(0)} s in all.`)
