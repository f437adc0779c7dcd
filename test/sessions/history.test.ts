import t from 'tap'
import { History } from '../../src/sessions/history.js'
import { ProtocolError } from '../../src/protocol/errors.js'

function filled(): History {
  const h = new History(100, 10)
  h.append('user', 'a1', 1, 1)
  h.append('assistant', 'a2', 1, 2)
  h.append('user', 'b1', 2, 3)
  h.append('assistant', 'b2', 2, 4)
  h.append('user', 'b3', 2, 5)
  return h
}

t.test('seq is session-wide and attempts are tagged', async (t) => {
  const h = filled()
  t.equal(h.total, 5)
  t.equal(h.countFor(1), 2)
  t.equal(h.countFor(2), 3)
  t.same(
    h.query({ attempt: 'all', currentAttempt: 2 }).map((m) => m.seq),
    [1, 2, 3, 4, 5],
  )
  t.same(
    h.query({ attempt: 'current', currentAttempt: 2 }).map((m) => m.content),
    ['b1', 'b2', 'b3'],
  )
  t.same(
    h.query({ attempt: 1, currentAttempt: 2 }).map((m) => m.content),
    ['a1', 'a2'],
  )
})

t.test('limit keeps the newest, oldest first; before_seq pages back', async (t) => {
  const h = filled()
  t.same(
    h.query({ attempt: 'all', currentAttempt: 2, limit: 2 }).map((m) => m.seq),
    [4, 5],
  )
  t.same(
    h.query({ attempt: 'all', currentAttempt: 2, limit: 2, beforeSeq: 4 }).map((m) => m.seq),
    [2, 3],
  )
  t.same(
    h.query({ attempt: 'current', currentAttempt: 2, beforeSeq: 4 }).map((m) => m.seq),
    [3],
  )
  t.same(h.query({ attempt: 'all', currentAttempt: 2, beforeSeq: 1 }), [])
  t.same(h.query({ attempt: 'all', currentAttempt: 2, beforeSeq: 99 }).length, 5)
})

t.test('attempt outside 1..current is bad_request', async (t) => {
  const h = filled()
  for (const attempt of [0, 3, -1]) {
    t.throws(() => h.query({ attempt, currentAttempt: 2 }), { code: 'bad_request' })
  }
})

t.test('bounds refuse, never drop', async (t) => {
  const h = new History(2, 5)
  t.throws(() => h.append('user', '123456', 1, 0), { code: 'limit_exceeded' })
  t.equal(h.total, 0)
  h.append('user', '', 1, 0)
  h.append('user', '12345', 1, 0)
  const err = t.throws(() => h.append('user', 'x', 1, 0)) as ProtocolError
  t.equal(err.code, 'limit_exceeded')
  t.equal(h.total, 2, 'nothing dropped')
  t.same(
    h.query({ attempt: 'all', currentAttempt: 1 }).map((m) => m.content),
    ['', '12345'],
  )
})

t.test('length counts UTF-16 code units', async (t) => {
  const h = new History(10, 2)
  h.append('user', '😀', 1, 0) // one emoji is two UTF-16 units
  t.throws(() => h.append('user', '😀a', 1, 0), { code: 'limit_exceeded' })
})
