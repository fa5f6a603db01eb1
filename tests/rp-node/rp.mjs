// A relying party built on openid-client (by others), driven by tests/tests/oidc_node.rs.
//
//   node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Prints `authorize: URL`, reads the callback URL (with code, state, iss) from standard input,
// then redeems the code with PKCE, verifies the ID token, calls UserInfo, refreshes, and prints
// `result: {json}`. Any failure exits non-zero with the error on stderr.
import * as readline from "node:readline";
import * as client from "openid-client";

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
// The tests run the IdP on http://127.0.0.1; openid-client refuses plain http unless told.
const options = { execute: [client.allowInsecureRequests] };

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, options);
const codeVerifier = client.randomPKCECodeVerifier();
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid profile email",
  code_challenge: codeChallenge,
  code_challenge_method: "S256",
  state,
  nonce,
});
console.log(`authorize: ${url.href}`);

const rl = readline.createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => rl.once("line", resolve));
rl.close();

const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const refreshedClaims = refreshed.claims();
console.log(
  "result: " +
    JSON.stringify({
      sub: claims.sub,
      iss: claims.iss,
      aud: claims.aud,
      amr: claims.amr,
      acr: claims.acr,
      userinfo,
      refreshed_sub: refreshedClaims?.sub,
      refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
    }),
);
