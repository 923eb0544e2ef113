// A certified relying party (panva's openid-client, OpenID Certified™) on its default settings,
// driven by tests/oidc/test_certified_rp.py against a live Bouquet.
//
//   node rp.mjs <issuer> <client_id> <client_secret> <redirect_uri> <scope>
//
// Prints the authorization URL on one line, reads the callback URL the browser was sent to from
// stdin, then runs the code flow, userinfo, refresh, introspection and revocation, and prints what
// it saw as one JSON line. Any check the library makes that fails ends the process with an error.
import * as readline from "node:readline/promises";
import * as client from "openid-client";

const [issuer, clientId, clientSecret, redirectUri, scope] = process.argv.slice(2);

// The one option that is not a default: the test server is plain http on loopback.
const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined,
                                      { execute: [client.allowInsecureRequests] });
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope, state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: "S256",
});
console.log(url.href);

const input = readline.createInterface({ input: process.stdin });
const callback = (await input[Symbol.asyncIterator]().next()).value;
input.close();

const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const introspected = await client.tokenIntrospection(config, refreshed.access_token);
await client.tokenRevocation(config, refreshed.refresh_token);
const afterRevocation = await client.tokenIntrospection(config, refreshed.access_token);

console.log(JSON.stringify({
  auth_method: config.clientMetadata().token_endpoint_auth_method ?? "client_secret_post (default)",
  id_token_claims: claims, scope: tokens.scope, userinfo,
  refreshed: { access_token_changed: refreshed.access_token !== tokens.access_token,
               refresh_token_changed: refreshed.refresh_token !== tokens.refresh_token, scope: refreshed.scope },
  introspected, after_revocation: afterRevocation,
}));
