// Keeps the page's client identity in IndexedDB, so a reload (or the next
// visit) reopens the sessions this browser created. The secret key is stored
// as the SDK hands it out: any script running on this origin can read it.
import { generateIdentity, identityFromSecretKey } from './client.browser.js'

const DB = 'rsh-example'
const STORE = 'keys'

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

async function openDb() {
  const request = indexedDB.open(DB, 1)
  request.onupgradeneeded = () => request.result.createObjectStore(STORE)
  return done(request)
}

/** The stored identity, or a new one that is stored first. */
export async function loadIdentity() {
  const db = await openDb()
  try {
    const secretKey = await done(db.transaction(STORE).objectStore(STORE).get('identity'))
    if (typeof secretKey === 'string') return identityFromSecretKey(secretKey)
    const identity = generateIdentity()
    await done(db.transaction(STORE, 'readwrite').objectStore(STORE).put(identity.secretKey, 'identity'))
    return identity
  } finally {
    db.close()
  }
}
