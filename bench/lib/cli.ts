// What every bench tool's command line shares: a usage error that names the
// flag, node's parseArgs in strict mode, and the entry point (usage and exit 2
// on a bad flag, the usage and exit 0 for --help, else the tool's exit code).
import { parseArgs, type ParseArgsConfig } from 'node:util'

export class UsageError extends Error {
  override name = 'UsageError'
}

/** The flags' raw values (strict: an unknown flag or a missing value throws UsageError). */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: O): Partial<Record<keyof O, string | boolean>> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export interface CliIo {
  stdout(s: string): void
  stderr(s: string): void
}

/** Parses the process's arguments and runs the tool; sets the exit code. */
export async function runCli<O>(name: string, usage: string, parse: (argv: readonly string[]) => O | 'help', run: (opts: O, io: CliIo) => Promise<number>): Promise<void> {
  const io: CliIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) }
  let opts: O | 'help'
  try {
    opts = parse(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`${name}: ${err.message}\n\n${usage}`)
    process.exit(2)
  }
  if (opts === 'help') {
    io.stdout(usage)
    process.exit(0)
  }
  process.exitCode = await run(opts, io)
}

/** The value of `--name=value` among the process's arguments, or `dflt`: the flags of the small one-off bench scripts. */
export function flagValue(name: string, dflt: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt
}
