// npm run bench:load: many SDK clients against one host, a mixed workload per
// client, a table per operation and a verdict. `--help` lists the flags; the
// logic is in bench/load/ (args, stats, pacer, workload, report, run).
import { runCli } from './lib/cli.js'
import { USAGE, parseLoadArgs } from './load/args.js'
import { runLoad } from './load/run.js'

await runCli('bench:load', USAGE, parseLoadArgs, runLoad)
