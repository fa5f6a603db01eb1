// A relying party built on openid-client (by others), driven by tests/tests/oidc_node.rs.
//
//   node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Prints `authorize: URL`, reads the callback URL (with code, state, iss) from standard input,
// then redeems the code with PKCE, verifies the ID token, calls UserInfo, refreshes, and prints
// `result: {json}`. Any failure exits non-zero with the error on stderr.
//
// Environment (optional):
//   RP_PRIVATE_KEY_FILE, RP_KEY_ALG (RS256 | ES256), RP_KID: authenticate with
//     private_key_jwt using this PKCS#8 PEM key instead of CLIENT_SECRET (pass `-`).
//   RP_POST_LOGOUT: also build the RP-initiated logout URL (with the ID token as hint and
//     state `node-bye`), printed in the result as `end_session`.
import { readFileSync } from "node:fs";
import * as readline from "node:readline";
import * as jose from "jose";
import * as client from "openid-client";

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
// The tests run the IdP on http://127.0.0.1; openid-client refuses plain http unless told.
const options = { execute: [client.allowInsecureRequests] };

let config;
if (process.env.RP_PRIVATE_KEY_FILE) {
  const alg = process.env.RP_KEY_ALG || "RS256";
  const key = await jose.importPKCS8(readFileSync(process.env.RP_PRIVATE_KEY_FILE, "utf8"), alg);
  const auth = client.PrivateKeyJwt({ key, kid: process.env.RP_KID });
  config = await client.discovery(new URL(issuer), clientId, undefined, auth, options);
} else {
  config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, options);
}
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
const endSession = process.env.RP_POST_LOGOUT
  ? client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: process.env.RP_POST_LOGOUT,
      state: "node-bye",
    }).href
  : undefined;
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
      end_session: endSession,
    }),
);
