// What runs the host in production stops it with one SIGTERM to the process
// it started: the systemd unit and the Docker image start node itself, never
// npm (npm start's own SIGTERM path is tested in test/journal/shutdown.test.ts).
// No Docker engine runs here, so the Dockerfile is checked as text: its
// commands and the files it copies.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

t.test('the systemd unit runs node itself, stops it with SIGTERM, and waits longer than the shutdown grace', async (t) => {
  const unit = read('deploy/rag-session-host.service')
  const key = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1]
  t.match(key('ExecStart'), /^\/usr\/bin\/node dist\/main\.js$/)
  t.equal(key('KillSignal'), 'SIGTERM')
  t.equal(key('KillMode'), 'mixed', 'SIGTERM to node alone, SIGKILL for the group only after the timeout')
  t.ok(Number(key('TimeoutStopSec')) * 1000 > 10_000, 'TimeoutStopSec exceeds the default SHUTDOWN_GRACE_MS')
  t.match(unit, /^Environment=ADMIN_TOKEN_FILE=%d\/admin-token$/m, 'the admin token comes as a credential file')
})

t.test(
  'systemd-analyze accepts the unit as written',
  { skip: spawnSync('systemd-analyze', ['--version']).status === 0 ? false : 'systemd-analyze is not installed (apt-get install -y systemd)' },
  async (t) => {
    const res = spawnSync('systemd-analyze', ['verify', 'deploy/rag-session-host.service'], { cwd: root, encoding: 'utf8' })
    t.equal(res.status, 0)
    // It reports unknown keys and bad values on stderr and exits 0 all the same.
    t.equal(res.stderr.trim(), '', 'no complaint about any line')
  },
)

t.test('the Docker image runs node in exec form, and every file it copies from the checkout exists', async (t) => {
  const dockerfile = read('Dockerfile')
  t.match(dockerfile, /^CMD \["node", "dist\/main\.js"\]$/m)
  t.match(dockerfile, /RUN npm run build/, 'the build stage builds (and with it copies the console into dist/)')
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/).slice(0, -1))
  t.ok(copies.length > 3)
  for (const source of copies.flat()) t.ok(existsSync(new URL(`../../${source}`, import.meta.url)), `COPY source ${source} exists`)
  const ignored = read('.dockerignore').split('\n')
  t.notOk(ignored.includes('src'), 'the sources, console assets included, are in the build context')
})

t.test('npm start, the Docker image and the systemd unit fix the same malloc mmap threshold; npm start keeps an operator value', async (t) => {
  const TUNABLE = 'glibc.malloc.mmap_threshold=262144'
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!
  t.equal(start, `GLIBC_TUNABLES=\${GLIBC_TUNABLES:-${TUNABLE}} exec node dist/main.js`)
  t.match(read('Dockerfile'), new RegExp(`^\\s+GLIBC_TUNABLES=${TUNABLE} \\\\$`, 'm'))
  t.match(read('deploy/rag-session-host.service'), new RegExp(`^Environment=GLIBC_TUNABLES=${TUNABLE}$`, 'm'))
  // The script's shell expansion, run for real: the default, and an operator's own value kept.
  const shell = (env: Record<string, string>): string =>
    spawnSync('sh', ['-c', start.replace('node dist/main.js', 'printenv GLIBC_TUNABLES')], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' }).stdout
  t.equal(shell({}), TUNABLE + '\n')
  t.equal(shell({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), 'glibc.malloc.arena_max=2\n')
})
