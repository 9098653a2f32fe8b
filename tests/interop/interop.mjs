// Interoperability check: off-the-shelf client libraries against a running
// Tessera server.
//
//   * openid-client (panva, v6) is given ONLY the issuer URL, the client_id and
//     the client secret. Everything else (token endpoint, auth methods, JWKS)
//     it must learn from the server's discovery document, as a partner's
//     system would.
//   * jose verifies the access tokens the way a resource server would:
//     createRemoteJWKSet(jwks_uri) + jwtVerify with issuer, audience and
//     typ "at+jwt" (RFC 9068).
//
// Environment (set by run.sh):
//   ISSUER         the server's issuer URL, e.g. http://127.0.0.1:18480
//   CLIENT_ID      an application's client_id
//   CLIENT_SECRET  one of its secrets
//   AUDIENCE       the audience its permission maps to
//                  (default: the search-match-sandbox audience)
//   SCOPE          the resource id of that permission (default: search-match-sandbox)
//   OTHER_SCOPE    a resource id the application does NOT hold
//                  (default: search-match-production)
//   RS_CLIENT_ID, RS_CLIENT_SECRET
//                  a resource server (kind resource-server) and its secret:
//                  openid-client introspects tokens as it (RFC 7662), with
//                  the introspection endpoint learnt from discovery
//
// Prints one line per check and a final line `interop: N passed, M failed`;
// exits non-zero if any check failed. Never prints the secret or a token.

import * as client from 'openid-client';
import * as jose from 'jose';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`interop.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
};

const ISSUER = env('ISSUER');
const CLIENT_ID = env('CLIENT_ID');
const CLIENT_SECRET = env('CLIENT_SECRET');
const AUDIENCE = env('AUDIENCE', 'https://sandbox.registry.example/search-match');
const SCOPE = env('SCOPE', 'search-match-sandbox');
const OTHER_SCOPE = env('OTHER_SCOPE', 'search-match-production');
const RS_CLIENT_ID = env('RS_CLIENT_ID');
const RS_CLIENT_SECRET = env('RS_CLIENT_SECRET');

let passed = 0;
let failed = 0;

/** Runs one named check; a thrown error is a failure with its message. */
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok      ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAILED  ${name}`);
    console.log(`        ${describe(err)}`);
  }
}

/** A one-line description of an error, with the OAuth fields when present. */
function describe(err) {
  if (!(err instanceof Error)) return String(err);
  const parts = [`${err.name}: ${err.message}`];
  if (err.code) parts.push(`code=${err.code}`);
  if (err.status) parts.push(`status=${err.status}`);
  if (err.error) parts.push(`error=${err.error}`);
  if (err.error_description) parts.push(`error_description=${JSON.stringify(err.error_description)}`);
  if (err.cause && !(err.cause instanceof Error)) parts.push(`cause=${JSON.stringify(err.cause)}`);
  else if (err.cause instanceof Error) parts.push(`cause: ${err.cause.name}: ${err.cause.message}`);
  return parts.join('  ');
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// Plain-HTTP loopback server: openid-client refuses http:// unless told.
const discoveryOptions = (algorithm) => ({ execute: [client.allowInsecureRequests], algorithm });

/** Discovers the server with nothing but the issuer, client_id and secret. */
function discover(clientAuth, algorithm = 'oauth2') {
  return client.discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, clientAuth, discoveryOptions(algorithm));
}

function checkMetadata(as) {
  assertEqual(as.issuer, ISSUER, 'issuer');
  assert(typeof as.token_endpoint === 'string' && as.token_endpoint.length > 0, 'token_endpoint missing');
  assert(typeof as.jwks_uri === 'string' && as.jwks_uri.length > 0, 'jwks_uri missing');
  const methods = as.token_endpoint_auth_methods_supported ?? [];
  for (const m of ['client_secret_basic', 'client_secret_post']) {
    assert(methods.includes(m), `token_endpoint_auth_methods_supported lacks ${m}: ${JSON.stringify(methods)}`);
  }
  assert(
    (as.grant_types_supported ?? []).includes('client_credentials'),
    `grant_types_supported lacks client_credentials: ${JSON.stringify(as.grant_types_supported)}`,
  );
  assert(
    (as.scopes_supported ?? []).includes(SCOPE),
    `scopes_supported lacks ${SCOPE}: ${JSON.stringify(as.scopes_supported)}`,
  );
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

let config; // Configuration from RFC 8414 discovery, openid-client's default auth
let jwks; // jose remote key set from the discovered jwks_uri

await check('openid-client discovers /.well-known/oauth-authorization-server (RFC 8414)', async () => {
  config = await discover(undefined, 'oauth2');
  checkMetadata(config.serverMetadata());
  jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
});

await check('openid-client discovers /.well-known/openid-configuration (OIDC algorithm)', async () => {
  const oidc = await discover(undefined, 'oidc');
  checkMetadata(oidc.serverMetadata());
  assertEqual(oidc.serverMetadata().token_endpoint, config?.serverMetadata().token_endpoint, 'token_endpoint (same in both documents)');
  assertEqual(oidc.serverMetadata().jwks_uri, config?.serverMetadata().jwks_uri, 'jwks_uri (same in both documents)');
});

await check('jose fetches the JWKS: every key has kid, alg and use "sig"', async () => {
  const res = await fetch(config.serverMetadata().jwks_uri);
  assertEqual(res.status, 200, 'JWKS status');
  const body = await res.json();
  assert(Array.isArray(body.keys) && body.keys.length > 0, 'JWKS has no keys');
  for (const jwk of body.keys) {
    assert(jwk.kid && jwk.alg, `key without kid/alg: ${JSON.stringify({ kid: jwk.kid, alg: jwk.alg })}`);
    assertEqual(jwk.use, 'sig', `use of key ${jwk.kid}`);
    assert(!('d' in jwk), `key ${jwk.kid} exposes private material`);
    await jose.importJWK(jwk, jwk.alg); // jose accepts the key as published
  }
});

// ---------------------------------------------------------------------------
// Token issuance and verification
// ---------------------------------------------------------------------------

const seenJtis = new Set();

/**
 * Verifies an access token as a resource server would, and checks the claims
 * RFC 9068 and the Tessera contract require.
 */
async function verifyAccessToken(tokens, { audience = AUDIENCE, scope = SCOPE } = {}) {
  assert(typeof tokens.access_token === 'string', 'no access_token');
  // oauth4webapi lower-cases token_type; the server sends "Bearer".
  assertEqual(tokens.token_type, 'bearer', 'token_type');
  assert(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, `expires_in: ${tokens.expires_in}`);
  assertEqual(tokens.scope, scope, 'scope in the token response');

  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: ISSUER,
    audience,
    typ: 'at+jwt',
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
  });
  assert(protectedHeader.kid, 'no kid in the JWS header');
  assertEqual(payload.sub, CLIENT_ID, 'sub');
  assertEqual(payload.client_id, CLIENT_ID, 'client_id claim');
  assertEqual(payload.scope, scope, 'scope claim');
  assert(typeof payload.org === 'string' && payload.org.length > 0, 'org claim missing');
  assertEqual(payload.exp - payload.iat, tokens.expires_in, 'exp - iat vs expires_in');
  if (payload.nbf !== undefined) assert(payload.nbf <= payload.iat, 'nbf after iat');
  assert(!seenJtis.has(payload.jti), `jti reused: ${payload.jti}`);
  seenJtis.add(payload.jti);
  return { payload, protectedHeader };
}

await check('client_credentials with openid-client default auth (client_secret_post) + jose verify', async () => {
  const tokens = await client.clientCredentialsGrant(config);
  await verifyAccessToken(tokens);
});

await check('client_credentials with ClientSecretBasic + jose verify', async () => {
  const basic = await discover(client.ClientSecretBasic());
  const tokens = await client.clientCredentialsGrant(basic);
  await verifyAccessToken(tokens);
});

await check('client_credentials with ClientSecretPost + jose verify', async () => {
  const post = await discover(client.ClientSecretPost());
  const tokens = await client.clientCredentialsGrant(post);
  await verifyAccessToken(tokens);
});

await check(`client_credentials with scope=${SCOPE}`, async () => {
  const tokens = await client.clientCredentialsGrant(config, { scope: SCOPE });
  await verifyAccessToken(tokens);
});

await check(`client_credentials with resource=${AUDIENCE} (RFC 8707)`, async () => {
  const tokens = await client.clientCredentialsGrant(config, { resource: AUDIENCE });
  await verifyAccessToken(tokens);
});

await check('jose rejects the token for another audience', async () => {
  const tokens = await client.clientCredentialsGrant(config);
  try {
    await jose.jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: 'https://elsewhere.example', typ: 'at+jwt' });
  } catch (err) {
    assertEqual(err.code, 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'jose error code');
    return;
  }
  throw new Error('token verified for an audience it was not issued to');
});

// ---------------------------------------------------------------------------
// Errors as a client library sees them
// ---------------------------------------------------------------------------

/** Runs fn, expecting openid-client to throw; returns the error. */
async function expectFailure(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('the request succeeded but should have failed');
}

await check(`scope=${OTHER_SCOPE} (not held) is invalid_scope 400`, async () => {
  const err = await expectFailure(() => client.clientCredentialsGrant(config, { scope: OTHER_SCOPE }));
  assert(err instanceof client.ResponseBodyError, `expected ResponseBodyError, got ${describe(err)}`);
  assertEqual(err.status, 400, 'status');
  assertEqual(err.error, 'invalid_scope', 'error');
});

await check('wrong secret with client_secret_post is invalid_client 401', async () => {
  const bad = await discover(client.ClientSecretPost(`${CLIENT_SECRET}x`));
  const err = await expectFailure(() => client.clientCredentialsGrant(bad));
  assert(err instanceof client.ResponseBodyError, `expected ResponseBodyError, got ${describe(err)}`);
  assertEqual(err.status, 401, 'status');
  assertEqual(err.error, 'invalid_client', 'error');
});

await check('wrong secret with client_secret_basic is 401 invalid_client with a Basic challenge', async () => {
  const bad = await discover(client.ClientSecretBasic(`${CLIENT_SECRET}x`));
  const err = await expectFailure(() => client.clientCredentialsGrant(bad));
  // The contract sends WWW-Authenticate on a 401 when Basic was used (RFC 6749
  // section 5.2); oauth4webapi then reports the parsed challenge instead of a
  // ResponseBodyError, so that header must be present and parseable.
  assert(err instanceof client.WWWAuthenticateChallengeError, `expected WWWAuthenticateChallengeError, got ${describe(err)}`);
  assertEqual(err.status, 401, 'status');
  const challenges = err.cause;
  assert(
    Array.isArray(challenges) && challenges.some((c) => c.scheme === 'basic'),
    `no Basic challenge parsed: ${JSON.stringify(challenges)}`,
  );
  const body = await err.response.json();
  assertEqual(body.error, 'invalid_client', 'error');
});

await check('unknown client_id is invalid_client 401', async () => {
  const stranger = await client.discovery(
    new URL(ISSUER),
    '00000000-0000-4000-8000-000000000000',
    CLIENT_SECRET,
    client.ClientSecretPost(),
    discoveryOptions('oauth2'),
  );
  const err = await expectFailure(() => client.clientCredentialsGrant(stranger));
  assert(err instanceof client.ResponseBodyError, `expected ResponseBodyError, got ${describe(err)}`);
  assertEqual(err.status, 401, 'status');
  assertEqual(err.error, 'invalid_client', 'error');
});

// ---------------------------------------------------------------------------
// Introspection (RFC 7662) by a resource server
// ---------------------------------------------------------------------------

await check('openid-client introspects a fresh token as a resource server: active, with the RFC 7662 fields', async () => {
  const resourceServer = await client.discovery(
    new URL(ISSUER),
    RS_CLIENT_ID,
    RS_CLIENT_SECRET,
    client.ClientSecretBasic(),
    discoveryOptions('oauth2'),
  );
  const methods = resourceServer.serverMetadata().introspection_endpoint_auth_methods_supported ?? [];
  assert(methods.includes('client_secret_basic'), `introspection auth methods: ${JSON.stringify(methods)}`);
  const tokens = await client.clientCredentialsGrant(config);
  const answer = await client.tokenIntrospection(resourceServer, tokens.access_token);
  assertEqual(answer.active, true, 'active');
  assertEqual(answer.client_id, CLIENT_ID, 'client_id');
  assertEqual(answer.sub, CLIENT_ID, 'sub');
  assertEqual(answer.scope, SCOPE, 'scope');
  assertEqual(answer.aud, AUDIENCE, 'aud');
  assertEqual(answer.iss, ISSUER, 'iss');
  assert(Number.isInteger(answer.exp) && Number.isInteger(answer.iat), 'exp and iat');
  const garbage = await client.tokenIntrospection(resourceServer, 'not-a-token');
  assertEqual(JSON.stringify(garbage), '{"active":false}', 'garbage');
});

await check('a partner application cannot introspect: invalid_client 401', async () => {
  const tokens = await client.clientCredentialsGrant(config);
  const post = await discover(client.ClientSecretPost());
  const err = await expectFailure(() => client.tokenIntrospection(post, tokens.access_token));
  assert(err instanceof client.ResponseBodyError, `expected ResponseBodyError, got ${describe(err)}`);
  assertEqual(err.status, 401, 'status');
  assertEqual(err.error, 'invalid_client', 'error');
});

console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
