// npm run bench:load: many SDK clients against one host, a mixed workload per
// client, a table per operation and a verdict. `--help` lists the flags; the
// logic is in bench/load/ (args, stats, pacer, workload, report, run).
import { USAGE, UsageError, parseLoadArgs } from './load/args.js'
import { runLoad } from './load/run.js'

const io = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) }

let opts
try {
  opts = parseLoadArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  io.stderr(`bench:load: ${err.message}\n\n${USAGE}`)
  process.exit(2)
}
if (opts === 'help') {
  io.stdout(USAGE)
  process.exit(0)
}
process.exitCode = await runLoad(opts, io)
