// A real Bluesky PDS (@atproto/pds) + in-memory PLC directory (@did-plc/server) + a stub read
// service, all bound to loopback, in one Node 22 process. Prints one line `READY {json}` when
// every server answers its health check. Facts and pitfalls: shared/reference/local-pds.md.
//
// Knobs (env): PDS_PORT (2583), PLC_PORT (2582), APPVIEW_PORT (2584), STUB_APPVIEW=0,
// LISTEN_HOST (127.0.0.1), PDS_DATA_DIR (default: a fresh temp dir removed on exit), KEEP_DATA=1.
// Extra: the stub also serves GET /_uprbuzz/counters = {xrpc method: request count} seen by the
// PDS, so tests can prove e.g. that 100 processes made exactly one createSession.

import { createRequire } from 'node:module'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const t0 = Date.now()
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`launcher: Node >= 22 required (this is ${process.version}); run tools/local-pds/install.sh`)
  process.exit(2)
}

// --- state shared with the signal handlers, which are registered before any start-up work ----
let pds = null
let plc = null
let stub = null
let dataDir = null
let removeDataDir = false
let stopping = false

async function shutdown(code) {
  if (stopping) return
  stopping = true
  const quiet = async (fn) => { try { await fn() } catch { /* already down */ } }
  if (pds) await quiet(() => pds.destroy())
  if (plc) await quiet(() => plc.destroy())
  if (stub) await quiet(() => new Promise((r) => { stub.closeAllConnections?.(); stub.close(() => r()) }))
  process.exit(code)
}
process.on('SIGTERM', () => { shutdown(0) })
process.on('SIGINT', () => { shutdown(0) })
process.on('exit', () => {
  if (removeDataDir && dataDir) {
    try { fs.rmSync(dataDir, { recursive: true, force: true }) } catch { /* best effort */ }
  }
})

const here = path.dirname(fileURLToPath(import.meta.url))
const requireFromPds = createRequire(path.join(here, 'pds', 'package.json'))
const load = async (name) => import(pathToFileURL(requireFromPds.resolve(name)).href)

const host = process.env.LISTEN_HOST || '127.0.0.1'
const pdsPort = Number(process.env.PDS_PORT || 2583)
const plcPort = Number(process.env.PLC_PORT || 2582)
const appviewPort = Number(process.env.APPVIEW_PORT || 2584)
const stubEnabled = process.env.STUB_APPVIEW !== '0'
const counters = {}

// Upstream start() calls app.listen(port) with no host (all interfaces): pin it to `host`.
function bindListen(app, onServer) {
  const orig = app.listen.bind(app)
  app.listen = (port, ...rest) => {
    const server = orig(port, host, ...rest)
    if (onServer) onServer(server)
    return server
  }
}

function secp256k1Hex() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const d = privateKey.export({ format: 'jwk' }).d
  return Buffer.from(d, 'base64url').toString('hex').padStart(64, '0')
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
}

function json(res, status, body) {
  const data = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) })
  res.end(data)
}

// Minimal read service: the PDS proxies app.bsky.* here. getProfile(s) answer from the PDS's
// own account table (the SDK's login calls getProfile); everything else is 501.
function startStub() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${host}`)
    try {
      if (url.pathname === '/xrpc/_health') return json(res, 200, { version: 'uprbuzz-stub' })
      if (url.pathname === '/_uprbuzz/counters') return json(res, 200, counters)
      const profile = async (actor) => {
        const acct = actor && pds ? await pds.ctx.accountManager.getAccount(actor) : null
        return acct ? { did: acct.did, handle: acct.handle ?? 'handle.invalid' } : null
      }
      if (url.pathname === '/xrpc/app.bsky.actor.getProfile') {
        const p = await profile(url.searchParams.get('actor'))
        return p ? json(res, 200, p) : json(res, 400, { error: 'InvalidRequest', message: 'Profile not found' })
      }
      if (url.pathname === '/xrpc/app.bsky.actor.getProfiles') {
        const found = await Promise.all(url.searchParams.getAll('actors').map(profile))
        return json(res, 200, { profiles: found.filter(Boolean) })
      }
      return json(res, 501, { error: 'MethodNotImplemented', message: `${url.pathname} is not served by the local stub` })
    } catch (err) {
      return json(res, 500, { error: 'InternalServerError', message: String(err?.message || err) })
    }
  })
  return server
}

async function healthy(url) {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url} answered ${res.status}`)
  await res.arrayBuffer()
}

async function main() {
  const { PlcServer, Database } = await load('@did-plc/server')
  const { PDS, envToCfg, envToSecrets, readEnv } = await load('@atproto/pds')

  // 1. PLC directory, in memory
  plc = PlcServer.create({ db: Database.mock(), port: plcPort })
  bindListen(plc.app)
  await plc.start()

  // 2. stub read service
  if (stubEnabled) {
    stub = startStub()
    await listen(stub, appviewPort)
  }

  // 3. PDS: set only the env vars not already set
  if (process.env.PDS_DATA_DIR) {
    dataDir = path.resolve(process.env.PDS_DATA_DIR)
    fs.mkdirSync(dataDir, { recursive: true })
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uprbuzz-pds-'))
    removeDataDir = process.env.KEEP_DATA !== '1'
  }
  const adminPassword = process.env.PDS_ADMIN_PASSWORD || 'admin-pass'
  const defaults = {
    PDS_HOSTNAME: 'localhost', // http:// public URL and did:web:localhost (pitfall 3)
    PDS_PORT: String(pdsPort),
    PDS_DATA_DIRECTORY: dataDir,
    PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blocks'),
    PDS_DID_PLC_URL: `http://localhost:${plcPort}`, // a hostname, not an IP literal (pitfall 2)
    PDS_ADMIN_PASSWORD: adminPassword,
    PDS_JWT_SECRET: randomBytes(16).toString('hex'),
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: secp256k1Hex(),
    PDS_INVITE_REQUIRED: 'false',
    PDS_DEV_MODE: 'true',
    PDS_SERVICE_HANDLE_DOMAINS: '.test',
    PDS_CRAWLERS: '',
  }
  if (stubEnabled) {
    defaults.PDS_BSKY_APP_VIEW_URL = `http://localhost:${appviewPort}`
    defaults.PDS_BSKY_APP_VIEW_DID = 'did:example:stubappview'
  }
  for (const [k, v] of Object.entries(defaults)) {
    if (process.env[k] === undefined) process.env[k] = v
  }
  const env = readEnv()
  pds = await PDS.create(envToCfg(env), envToSecrets(env))
  bindListen(pds.app, (server) => {
    // count XRPC calls (a second 'request' listener; express still answers)
    server.on('request', (req) => {
      const m = /^\/xrpc\/([^?]+)/.exec(req.url || '')
      if (m) counters[m[1]] = (counters[m[1]] || 0) + 1
    })
  })
  await pds.start()

  // 4. health checks, then the one READY line
  const pdsUrl = `http://localhost:${pdsPort}`
  const plcUrl = `http://localhost:${plcPort}`
  const appviewUrl = stubEnabled ? `http://localhost:${appviewPort}` : null
  await healthy(`http://${host}:${plcPort}/_health`)
  await healthy(`http://${host}:${pdsPort}/xrpc/_health`)
  if (stubEnabled) await healthy(`http://${host}:${appviewPort}/xrpc/_health`)
  const info = {
    pdsUrl, plcUrl, appviewUrl, listenHost: host, dataDir, adminPassword,
    handleDomain: '.test', startupMs: Date.now() - t0, pid: process.pid,
    countersUrl: stubEnabled ? `http://${host}:${appviewPort}/_uprbuzz/counters` : null,
  }
  process.stdout.write(`READY ${JSON.stringify(info)}\n`)
}

main().catch((err) => {
  console.error('launcher: start-up failed:', err?.stack || err)
  shutdown(1)
})
