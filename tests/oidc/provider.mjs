// The OpenID provider of the test suite: the real `oidc-provider` package on a loopback port.
//
//   node provider.mjs <state-dir> <port>
//
// <state-dir>/clients.json  the registered clients (read once, at start)
// <state-dir>/accounts.json the users: { "<login>": { claims... } }, read at every sign-in, so a
//                           test changes someone's groups by rewriting the file
// <state-dir>/faults.json   optional, read at every request: what to break in the next answers,
//                           so the console's refusals are tested against this provider's own
//                           tokens: { "id_token": { "set": {...}, "drop": [...], "resign": true },
//                                     "userinfo": { "set": {...}, "drop": [...] },
//                                     "code_ttl": <seconds> }  (codes issued from now on expire sooner)
//
// Its login and consent pages are the package's development interactions: any password is
// accepted for a login name (what the console gets from it is what is tested here).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';

const [stateDir, port] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const readJson = (name, fallback) => {
  const path = join(stateDir, name);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : fallback;
};

const signing = await generateKeyPair('RS256', { extractable: true });
const rogue = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(signing.privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
const signingKey = await importJWK(jwk, 'RS256');

const configuration = {
  clients: readJson('clients.json', []),
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-cookie-key-0123456789'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const accounts = readJson('accounts.json', {});
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  // PKCE for every client, confidential ones too: a console that sent no code_challenge could not sign in.
  pkce: { required: () => true },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: () => readJson('faults.json', {}).code_ttl ?? 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
};

const provider = new Provider(issuer, configuration);

function alter(claims, fault) {
  const out = { ...claims, ...(fault.set || {}) };
  for (const name of fault.drop || []) delete out[name];
  return out;
}

provider.use(async (ctx, next) => {
  await next();
  const faults = readJson('faults.json', {});
  if (ctx.path === '/token' && ctx.status === 200 && faults.id_token && ctx.body?.id_token) {
    const claims = alter(decodeJwt(ctx.body.id_token), faults.id_token);
    const header = decodeProtectedHeader(ctx.body.id_token);
    const key = faults.id_token.resign ? rogue.privateKey : signingKey;
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid }).sign(key),
    };
  }
  if (ctx.path === '/me' && ctx.status === 200 && faults.userinfo && ctx.body) {
    ctx.body = alter(ctx.body, faults.userinfo);
  }
});

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
