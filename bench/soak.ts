// npm run bench:soak: the load tool's mixed workload for many minutes, with
// sessions ended and opened all along, the host's RSS and heap every
// --sample-s, and a verdict on their growth after the warm-up (a heap
// snapshot diff on a fail). `--help` lists the flags; the logic is in bench/soak/.
import { runCli } from './lib/cli.js'
import { USAGE, parseSoakArgs } from './soak/args.js'
import { runSoak } from './soak/run.js'

await runCli('bench:soak', USAGE, parseSoakArgs, runSoak)
