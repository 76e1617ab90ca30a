// An independent implementation of Open Mercato's tenant data encryption for the writer's cross-check tests,
// written from Mercato 0.6.7's description of it (packages/shared/src/lib/encryption: toggles.ts, kms.ts, aes.ts)
// with node:crypto only. It reads the set-up from the environment as Mercato does and answers one JSON request
// on stdin:
//   {"tenant": "<uuid>", "decrypt": ["..."], "encrypt": ["..."], "hash": ["..."]}
// with
//   {"encrypts": bool, "source": "...", "decrypted": [string|null], "encrypted": ["..."], "hashes": ["..."]}
// where decrypted[i] is null when value i is not a payload under the tenant's key (a plaintext column).
import crypto from 'node:crypto'

const truthy = ['1', 'true', 'yes', 'y', 'on', 'enable', 'enabled']
const falsy = ['0', 'false', 'no', 'n', 'off', 'disable', 'disabled']

function booleanToken(raw) {
  if (typeof raw !== 'string' || raw.trim() === '') return null
  const v = raw.trim().toLowerCase()
  if (truthy.includes(v)) return true
  if (falsy.includes(v)) return false
  return null
}

// A secret as Mercato reads it: trimmed, then at most one quote character dropped at each end.
function cleaned(raw) {
  if (!raw) return ''
  let v = raw.trim()
  if (v.startsWith('"') || v.startsWith("'")) v = v.slice(1)
  if (v.endsWith('"') || v.endsWith("'")) v = v.slice(0, -1)
  return v
}

function setup(env) {
  const toggle = booleanToken(env.TENANT_DATA_ENCRYPTION ?? '')
  if (toggle === false) return { encrypts: false, source: 'TENANT_DATA_ENCRYPTION=false' }
  if (cleaned(env.VAULT_ADDR) && cleaned(env.VAULT_TOKEN)) return { encrypts: false, source: 'vault' }
  for (const name of ['TENANT_DATA_ENCRYPTION_FALLBACK_KEY', 'TENANT_DATA_ENCRYPTION_KEY']) {
    const secret = cleaned(env[name])
    if (secret) return { encrypts: true, source: name, secret }
  }
  if (env.NODE_ENV !== 'production' && booleanToken(env.ALLOW_DERIVED_KMS_FALLBACK) === true) {
    return { encrypts: true, source: 'DEV_DEFAULT', secret: 'om-dev-tenant-encryption' }
  }
  return { encrypts: false, source: 'none' }
}

// The tenant key of the derived KMS: PBKDF2-HMAC-SHA512 over the SHA-256 of the secret, salted with the tenant id.
function tenantKey(secret, tenant) {
  const root = crypto.createHash('sha256').update(secret, 'utf8').digest()
  return crypto.pbkdf2Sync(root, Buffer.from(tenant, 'utf8'), 310000, 32, 'sha512')
}

// iv:ciphertext:tag:v1, each part base64, AES-256-GCM with a 12-byte IV.
function seal(key, text) {
  const iv = crypto.randomBytes(12)
  const c = crypto.createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()])
  return [iv, body, c.getAuthTag()].map((b) => b.toString('base64')).concat('v1').join(':')
}

function open(key, payload) {
  const parts = String(payload).split(':')
  if (parts.length !== 4 || parts[3] !== 'v1') return null
  try {
    const [iv, body, tag] = parts.slice(0, 3).map((p) => Buffer.from(p, 'base64'))
    const d = crypto.createDecipheriv('aes-256-gcm', key, iv)
    d.setAuthTag(tag)
    return Buffer.concat([d.update(body), d.final()]).toString('utf8')
  } catch {
    return null
  }
}

// Lookup hash: keyed v2 HMAC when a pepper is configured, else the legacy plain SHA-256, of lower(trim(value)).
function lookupHash(env, value) {
  const pepper = [env.LOOKUP_HASH_PEPPER, env.TENANT_DATA_ENCRYPTION_FALLBACK_KEY, env.TENANT_DATA_ENCRYPTION_KEY]
    .map(cleaned).find((v) => v)
  const norm = value.toLowerCase().trim()
  if (!pepper) return crypto.createHash('sha256').update(norm).digest('hex')
  return 'v2:' + crypto.createHmac('sha256', pepper).update(norm).digest('hex')
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const s = setup(process.env)
const key = s.encrypts ? tenantKey(s.secret, req.tenant) : null
const out = { encrypts: s.encrypts, source: s.source }
out.decrypted = (req.decrypt ?? []).map((v) => (key ? open(key, v) : null))
out.encrypted = (req.encrypt ?? []).map((v) => (key ? seal(key, v) : v))
out.hashes = (req.hash ?? []).map((v) => lookupHash(process.env, v))
process.stdout.write(JSON.stringify(out))
