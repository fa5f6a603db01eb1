#!/usr/bin/env python3
"""A tiny protected app: answers every GET with the identity headers it received, as JSON.

Usage: app.py PORT  (listens on 127.0.0.1:PORT; put nginx in front, see nginx.conf.template)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(
            {
                "path": self.path,
                "remote_user": self.headers.get("Remote-User"),
                "remote_email": self.headers.get("Remote-Email"),
                "remote_groups": self.headers.get("Remote-Groups"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.do_GET()

    def log_message(self, fmt, *args):
        sys.stderr.write("app: " + (fmt % args) + "\n")


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
