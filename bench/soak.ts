// npm run bench:soak: the load tool's mixed workload for many minutes, with
// sessions ended and opened all along, the host's RSS and heap every
// --sample-s, and a verdict on their growth after the warm-up (a heap
// snapshot diff on a fail). `--help` lists the flags; the logic is in bench/soak/.
import { UsageError } from './load/args.js'
import { USAGE, parseSoakArgs } from './soak/args.js'
import { runSoak } from './soak/run.js'

const io = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) }

let opts
try {
  opts = parseSoakArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  io.stderr(`bench:soak: ${err.message}\n\n${USAGE}`)
  process.exit(2)
}
if (opts === 'help') {
  io.stdout(USAGE)
  process.exit(0)
}
process.exitCode = await runSoak(opts, io)
