# A SAML SP built with pysaml2 (an independent SAML library; it signs and verifies with the
# xmlsec1 binary), driven by the end-to-end tests. Usage:
#   pysaml2_sp.py CONF_JSON MODE ARGS...
# CONF_JSON: {"entity", "acs", "slo", "slo_binding" ("redirect"|"post"), "key", "cert", "idp_md",
#             "enc_key" (optional: decrypts EncryptedAssertion)}
# Modes (each prints one JSON object):
#   authn-request                      an AuthnRequest by HTTP-Redirect: {"id", "url"}
#   authn-request-signed BINDING       a signed one: {"id", "url"} (redirect, query signature)
#                                      or {"id", "url", "xml"} (post, enveloped signature)
#   sso-response B64 REQ_ID|-          validate a Response (REQ_ID "-": unsolicited)
#   logout-request NAME_ID FORMAT SESSION_INDEX BINDING [DESTINATION]
#                                      a signed LogoutRequest to the IdP: {"url"} (redirect) or
#                                      {"url", "SAMLRequest"} (post)
#   logout-response-check BINDING VALUE  validate the IdP's LogoutResponse (POST: base64)
#   handle-logout-request BINDING QUERY|B64
#                                      validate the IdP's LogoutRequest and answer it (signed)
import json, sys, base64
from urllib.parse import parse_qs, urlsplit
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import NameID
from saml2.xmldsig import SIG_RSA_SHA256, DIGEST_SHA256

conf = json.load(open(sys.argv[1]))
mode = sys.argv[2]
args = sys.argv[3:]
B = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}
sp = {
    "endpoints": {
        "assertion_consumer_service": [(conf["acs"], BINDING_HTTP_POST)],
        "single_logout_service": [(conf["slo"], B[conf.get("slo_binding", "redirect")])],
    },
    "want_assertions_signed": True,
    "want_response_signed": False,
    "allow_unsolicited": True,
    "logout_requests_signed": True,
    "signing_algorithm": SIG_RSA_SHA256,
    "digest_algorithm": DIGEST_SHA256,
}
cfg_dict = {
    "entityid": conf["entity"],
    "metadata": {"local": [conf["idp_md"]]},
    "service": {"sp": sp},
    "key_file": conf["key"],
    "cert_file": conf["cert"],
    "xmlsec_binary": "/usr/bin/xmlsec1",
    "accepted_time_diff": 60,
}
if conf.get("enc_key"):
    cfg_dict["encryption_keypairs"] = [{"key_file": conf["enc_key"], "cert_file": conf["enc_cert"]}]
cfg = SPConfig()
cfg.load(cfg_dict)
client = Saml2Client(config=cfg)
idp_entity = list(client.metadata.identity_provider().keys())[0] if hasattr(client.metadata, "identity_provider") else None
if idp_entity is None:
    idp_entity = [e for e in client.metadata.keys()][0]


def idp_slo(binding):
    return client.metadata.single_logout_service(idp_entity, binding, "idpsso")[0]["location"]


def out(obj):
    print(json.dumps(obj))


if mode == "authn-request":
    req_id, info = client.prepare_for_authenticate(
        entityid=idp_entity, relay_state="py-relay", binding=BINDING_HTTP_REDIRECT)
    out({"id": req_id, "url": dict(info["headers"])["Location"]})
elif mode == "authn-request-signed":
    (binding,) = args
    dest = client.metadata.single_sign_on_service(idp_entity, B[binding])[0]["location"]
    if binding == "redirect":
        req_id, info = client.prepare_for_authenticate(
            entityid=idp_entity, relay_state="signed-relay", binding=BINDING_HTTP_REDIRECT,
            sign=True, sigalg=SIG_RSA_SHA256)
        out({"id": req_id, "url": dict(info["headers"])["Location"]})
    else:
        req_id, req = client.create_authn_request(
            dest, binding=BINDING_HTTP_POST, sign=True, sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256)
        out({"id": req_id, "url": dest, "xml": str(req)})
elif mode == "sso-response":
    b64, req_id = args
    outstanding = {} if req_id == "-" else {req_id: "/"}
    resp = client.parse_authn_request_response(b64, BINDING_HTTP_POST, outstanding=outstanding)
    if resp is None:
        sys.exit("pysaml2 returned no response")
    ava = resp.get_identity()
    out({
        "name_id": resp.name_id.text,
        "name_id_format": resp.name_id.format,
        "issuer": resp.issuer(),
        "in_response_to": resp.in_response_to,
        "classes": [a[0] for a in resp.authn_info()],
        "session_index": resp.assertion.authn_statement[0].session_index,
        "attributes": ava,
    })
elif mode == "logout-request":
    name_id, fmt, si, binding = args[:4]
    dest = idp_slo(B[binding])
    if len(args) > 4:
        dest = args[4]  # a wrong Destination, for the hostile cases
    nid = NameID(format=fmt, text=name_id)
    if binding == "redirect":
        req_id, req = client.create_logout_request(
            dest, idp_entity, name_id=nid, session_indexes=[si], sign=False)
        info = client.apply_binding(B[binding], str(req), dest, relay_state="slo-relay",
                                    sign=True, sigalg=SIG_RSA_SHA256)
        out({"id": req_id, "url": dict(info["headers"])["Location"]})
    else:
        req_id, req = client.create_logout_request(
            dest, idp_entity, name_id=nid, session_indexes=[si], sign=True,
            sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        out({"id": req_id, "url": dest,
             "SAMLRequest": base64.b64encode(str(req).encode()).decode()})
elif mode == "logout-response-check":
    binding, value = args
    resp = client.parse_logout_request_response(value, B[binding])
    if resp is None:
        sys.exit("pysaml2 returned no LogoutResponse")
    r = resp.response
    out({
        "in_response_to": r.in_response_to,
        "status": r.status.status_code.value,
        "sub_status": r.status.status_code.status_code.value if r.status.status_code.status_code else None,
        "issuer": r.issuer.text,
    })
elif mode == "handle-logout-request":
    binding, value = args
    if binding == "redirect":
        q = parse_qs(urlsplit(value).query)
        one = lambda k: q[k][0] if k in q else None
        req = client.parse_logout_request(one("SAMLRequest"), B[binding],
                                          relay_state=one("RelayState"),
                                          sigalg=one("SigAlg"), signature=one("Signature"))
    else:
        req = client.parse_logout_request(value, B[binding])
    if req is None:
        sys.exit("pysaml2 refused the LogoutRequest")
    m = req.message
    resp = client.create_logout_response(m, bindings=[B[binding]], sign=(binding == "post"),
                                         sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    dest = idp_slo(B[binding])
    if binding == "redirect":
        info = client.apply_binding(B[binding], str(resp), dest, response=True,
                                    sign=True, sigalg=SIG_RSA_SHA256)
        answer = {"url": dict(info["headers"])["Location"]}
    else:
        answer = {"url": dest, "SAMLResponse": base64.b64encode(str(resp).encode()).decode()}
    answer.update({
        "name_id": m.name_id.text,
        "session_indexes": [s.text for s in m.session_index],
        "issuer": m.issuer.text,
    })
    out(answer)
else:
    sys.exit("unknown mode " + mode)
