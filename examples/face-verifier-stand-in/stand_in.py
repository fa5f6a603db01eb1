#!/usr/bin/env python3
"""Stand-in for an external face verifier (tests and demos only: it recognises no faces).

Implements the contract of docs/integrations/face-verifier.md:

  POST /v1/verifications   Authorization: Bearer CREDENTIAL
       {"challenge", "user", "callback_url"}  ->  {"url": "http://HOST:PORT/verify/ID"}
  GET  /verify/ID          the "face check": 303 to callback_url with the signed verdict
                           (challenge, user, verdict, issued_at, signature = hex HMAC-SHA256)

The verdict for a user is "match" unless set otherwise (tests):

  POST /_stand-in/verdict  {"user": "demo", "verdict": "no_match"}

Usage: stand_in.py --secret-file FILE [--port 0]; prints "listening: PORT" when ready.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSIONS = {}
VERDICTS = {}
LOCK = threading.Lock()


def sign(key, challenge, user, verdict, issued_at):
    msg = f"passlogic-idp face verdict v1\n{challenge}\n{user}\n{verdict}\n{issued_at}\n"
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def make_handler(key):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("stand-in: " + fmt % args + "\n")

        def answer(self, status, body=None, location=None):
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            data = json.dumps(body).encode() if body is not None else b""
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            try:
                return json.loads(self.rfile.read(n) or b"null")
            except ValueError:
                return None

        def do_POST(self):
            if self.path == "/v1/verifications":
                auth = self.headers.get("Authorization", "")
                if not hmac.compare_digest(auth.encode(), b"Bearer " + key):
                    return self.answer(401, {"error": "unauthorized"})
                b = self.body()
                if not isinstance(b, dict) or not all(
                    isinstance(b.get(k), str) for k in ("challenge", "user", "callback_url")
                ):
                    return self.answer(400, {"error": "invalid_request"})
                sid = secrets.token_urlsafe(16)
                with LOCK:
                    SESSIONS[sid] = b
                host = self.headers.get("Host", "127.0.0.1")
                return self.answer(201, {"url": f"http://{host}/verify/{sid}"})
            if self.path == "/_stand-in/verdict":
                b = self.body()
                if not isinstance(b, dict) or b.get("verdict") not in ("match", "no_match"):
                    return self.answer(400, {"error": "invalid_request"})
                with LOCK:
                    VERDICTS[b.get("user")] = b["verdict"]
                return self.answer(200, {"ok": True})
            return self.answer(404, {"error": "not_found"})

        def do_GET(self):
            if not self.path.startswith("/verify/"):
                return self.answer(404, {"error": "not_found"})
            with LOCK:
                s = SESSIONS.pop(self.path[len("/verify/"):], None)
                verdict = VERDICTS.get(s["user"], "match") if s else None
            if s is None:
                return self.answer(404, {"error": "unknown or used verification"})
            issued_at = int(time.time())
            q = urllib.parse.urlencode(
                {
                    "challenge": s["challenge"],
                    "user": s["user"],
                    "verdict": verdict,
                    "issued_at": issued_at,
                    "signature": sign(key, s["challenge"], s["user"], verdict, issued_at),
                }
            )
            sep = "&" if "?" in s["callback_url"] else "?"
            return self.answer(303, location=s["callback_url"] + sep + q)

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--secret-file", required=True)
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    with open(a.secret_file, "rb") as f:
        key = f.read().strip()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(key))
    print(f"listening: {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
