// The redis-server helper the cluster tests stand on: acknowledged writes
// survive a clean stop and a SIGKILL (appendfsync always), pause/resume hold
// and release replies, and requirepass is enforced.
import t from 'tap'
import { createClient, type RedisClientType } from '@redis/client'
import { procState, requireClusterTools } from '../helpers/cluster-tools.js'
import { startRedisServer } from '../helpers/redis-server.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** A client that does not reconnect (the tests stop its server on purpose); closed at teardown. */
async function client(t: Teardown, url: string, opts: { connect?: boolean } = {}): Promise<RedisClientType> {
  const c: RedisClientType = createClient({ url, socket: { reconnectStrategy: false } })
  // Without a listener, the socket error of a stopped server would crash the test process.
  c.on('error', () => undefined)
  t.teardown(() => (c.isOpen ? c.destroy() : undefined))
  if (opts.connect !== false) await c.connect()
  return c
}

if (requireClusterTools(t)) {
  t.test('an acknowledged write survives stop/start and kill/start', async (t) => {
    const redis = await startRedisServer(t)
    t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
    const port = redis.port

    const first = await client(t, redis.url)
    t.equal(await first.set('before-stop', 'one'), 'OK')
    first.destroy()
    const stopped = await redis.stop()
    t.same(stopped, { code: 0, signal: null }, 'SIGTERM: a clean exit')
    t.notOk(redis.running)

    await redis.start()
    t.equal(redis.port, port, 'restarted on the same port')
    const second = await client(t, redis.url)
    t.equal(await second.get('before-stop'), 'one', 'the AOF brought it back')
    t.equal(await second.set('before-kill', 'two'), 'OK')
    second.destroy()
    const killed = await redis.kill()
    t.equal(killed.signal, 'SIGKILL', 'killed, no shutdown fsync')

    await redis.start()
    const third = await client(t, redis.url)
    t.equal(await third.get('before-stop'), 'one')
    t.equal(await third.get('before-kill'), 'two', 'fsynced before the OK, so it outlives the crash')
  })

  t.test('pause holds replies until resume', async (t) => {
    const redis = await startRedisServer(t)
    const c = await client(t, redis.url)
    t.equal(await c.ping(), 'PONG')
    await redis.pause()
    t.ok(redis.paused)
    let answered = false
    const pong = c.ping().then((r) => ((answered = true), r))
    // The ping is on the wire while the kernel holds the server stopped: it cannot have been answered.
    t.equal(await procState(redis.pid!), 'T', 'redis-server is stopped')
    t.notOk(answered, 'no reply from a stopped server')
    await redis.resume()
    t.equal(await pong, 'PONG', 'the request sent while paused is answered after resume')
    t.equal(await c.set('after-resume', 'x'), 'OK')
  })

  t.test('requirepass: no password is refused, the url with it works', async (t) => {
    const redis = await startRedisServer(t, { password: 's3cret/with:odd@chars' })
    t.match(redis.url, /^redis:\/\/:s3cret%2Fwith%3Aodd%40chars@127\.0\.0\.1:\d+$/)

    // @redis/client v6 speaks RESP3: its connect sends HELLO, which Redis refuses before AUTH.
    const anonymous = await client(t, redis.urlWithoutPassword, { connect: false })
    const noauth = await anonymous.connect().catch((e: unknown) => e)
    t.type(noauth, Error)
    t.match((noauth as Error).message, /^NOAUTH/, 'a client without the password fails its connect with NOAUTH')

    const wrong = await client(t, redis.url.replace('s3cret', 'wrong'), { connect: false })
    const wrongpass = await wrong.connect().catch((e: unknown) => e)
    t.type(wrongpass, Error)
    t.match((wrongpass as Error).message, /^WRONGPASS/, 'a wrong password fails the connect with WRONGPASS')

    const authed = await client(t, redis.url)
    t.equal(await authed.set('k', 'v'), 'OK')
    t.equal(await authed.get('k'), 'v')
  })
}
