// An independent JWT verifier (node's `jose`, by others), driven by the end-to-end tests.
//
//   node verify-jwt.mjs JWKS_URL ISSUER AUDIENCE < TOKEN
//
// Verifies the compact JWS on standard input against the JWKS at JWKS_URL (RS256 only), with
// the expected issuer and audience, and prints `header: {json}` and `claims: {json}`. Any
// failure exits non-zero with the error on stderr.
import * as jose from "jose";

const [jwksUrl, issuer, audience] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const jwks = jose.createRemoteJWKSet(new URL(jwksUrl));
const { payload, protectedHeader } = await jose.jwtVerify(input.trim(), jwks, {
  issuer,
  audience,
  algorithms: ["RS256"],
});
console.log("header: " + JSON.stringify(protectedHeader));
console.log("claims: " + JSON.stringify(payload));
