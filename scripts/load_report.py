#!/usr/bin/env python3
"""Load harness for the real server (issue 10): seeds users, registers an SP and a client,
starts a release build of `passlogic-idp`, drives it with `passlogic-loadgen`, samples the
server's resident memory, measures `openssl speed` on the same cores in the same run, and
prints a Markdown table with every throughput as a ratio to the raw RSA-2048 signing rate.

Run through scripts/load-report (which builds the release binaries). Options:
  --sizes 1000,1000000   user counts to compare (each a fresh database)
  --backends sqlite,postgres
  --seconds 5            length of each measured run
  --concurrency 16
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

SP = "https://sp.load.example/metadata"
ACS = "https://sp.load.example/acs"
SP_MD = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">'
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
    'Location="%s" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>'
) % (SP, ACS)
PG_ADMIN = os.environ.get("PASSLOGIC_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def line(out, key):
    for l in out.splitlines():
        if l.strip().startswith(key + ":"):
            return l.split(":", 1)[1].strip()
    raise SystemExit(f"no {key}: line in:\n{out}")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) / 1024.0
    return float("nan")


def openssl_speed():
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "3", "rsa2048", "ecdsap256"],
        capture_output=True, text=True,
    ).stdout
    rsa = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)", out, re.M)
    ec = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)", out, re.M)
    return float(rsa.group(1)), float(ec.group(1)) if ec else float("nan")


class Server:
    def __init__(self, args, backend, users):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="plidp-load-")
        self.store = ["--data-dir", self.dir]
        self.db = None
        if backend == "postgres":
            self.db = "loadrep_" + uuid.uuid4().hex[:10]
            run(["psql", PG_ADMIN, "-q", "-c", f"CREATE DATABASE {self.db}"])
            url = re.sub(r"/[^/]*$", "/" + self.db, PG_ADMIN)
            self.store += ["--database-url", url]
        cli = lambda *a: run([args.bin, *self.store, *a])
        cli("policy", "put", "mfa", "--combinations", "matrix+totp")
        cli("group", "add", "mfa", "--policy", "mfa")
        t = time.time()
        out = cli("seed-users", "--count", str(users), "--totp", "--group", "mfa")
        self.seed_secs = time.time() - t
        self.pattern = line(out, "pattern")
        self.totp = line(out, "totp")
        md = os.path.join(self.dir, "sp.xml")
        with open(md, "w") as f:
            f.write(SP_MD)
        cli("sp", "add", "--metadata", md)
        cli("client", "add", "--client-id", "load-rp", "--redirect-uri",
            "https://rp.load.example/cb", "--public")
        self.proc = subprocess.Popen(
            [args.bin, *self.store, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        for l in self.proc.stdout:
            if l.startswith("ready:"):
                self.base = l.split(":", 1)[1].strip()
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        if self.db:
            subprocess.run(["psql", PG_ADMIN, "-q", "-c", f"DROP DATABASE {self.db} WITH (FORCE)"])
        shutil.rmtree(self.dir, ignore_errors=True)


def loadgen(args, srv, scenario, first_user, users, rate=None):
    cmd = [args.loadgen, "--base", srv.base, "--scenario", scenario,
           "--seconds", str(args.seconds), "--concurrency", str(args.concurrency),
           "--pattern", srv.pattern, "--totp", srv.totp,
           "--first-user", str(first_user), "--users", str(users)]
    if rate:
        cmd += ["--rate", f"{rate:.1f}"]
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(srv.proc.pid))
            time.sleep(0.25)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out = run(cmd)
    done.set()
    th.join()
    r = json.loads(out.strip().splitlines()[-1])
    r["peak_rss_mb"] = peak[0]
    return r


def fresh_totp_step():
    """Waits for the start of a new 30-s TOTP step (each user's code is accepted once a step)."""
    time.sleep(30 - time.time() % 30 + 0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--sizes", default="1000,1000000")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    rsa, ec = openssl_speed()
    rsa_core = rsa  # `openssl speed` without -multi: one core
    rows = []
    for backend in args.backends.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            srv = Server(args, backend, size)
            try:
                idle = rss_mb(srv.proc.pid)
                c = args.concurrency
                results = {}
                # Sessions for saml-sso / oidc-code: users [0, c) and [c, 2c); sign-ins use the
                # rest, each run inside one fresh TOTP step.
                results["saml-sso"] = loadgen(args, srv, "saml-sso", 0, c)
                results["oidc-code"] = loadgen(args, srv, "oidc-code", c, c)
                fresh_totp_step()
                pool = size - 2 * c
                results["signin"] = loadgen(args, srv, "signin", 2 * c, pool)
                half = {}
                for sc in ["saml-sso", "oidc-code"]:
                    first = 0 if sc == "saml-sso" else c
                    fresh_totp_step()
                    half[sc] = loadgen(args, srv, sc, first, c,
                                       rate=results[sc]["ops_per_sec"] / 2)
                fresh_totp_step()
                half["signin"] = loadgen(args, srv, "signin", 2 * c, pool,
                                         rate=results["signin"]["ops_per_sec"] / 2)
                for sc in ["saml-sso", "oidc-code", "signin"]:
                    m, h = results[sc], half[sc]
                    rows.append({
                        "backend": backend, "users": size, "scenario": sc,
                        "ops_per_sec": m["ops_per_sec"], "errors": m["errors"] + h["errors"],
                        "ratio_per_core": (m["ops_per_sec"] / cores) / rsa_core,
                        "half_rate": h["rate"], "p50": h["p50_ms"], "p99": h["p99_ms"],
                        "rss_idle": idle,
                        "rss_peak": max(idle, m["peak_rss_mb"], h["peak_rss_mb"]),
                        "seed_secs": srv.seed_secs, "first_error": m["first_error"] or h["first_error"],
                    })
            finally:
                srv.stop()
    print(f"cores: {cores}; openssl speed (one core): RSA-2048 {rsa:,.0f} signs/s, "
          f"ECDSA P-256 {ec:,.0f} signs/s\n")
    print("| store | users | scenario | ops/s | per core / raw RSA-2048 sign | p50 at half rate (ms) "
          "| p99 at half rate (ms) | RSS idle / peak (MB) | seeding (s) | errors |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['backend']} | {r['users']:,} | {r['scenario']} | {r['ops_per_sec']:,.1f} | "
              f"{r['ratio_per_core']:.2f} | {r['p50']:.1f} | {r['p99']:.1f} | "
              f"{r['rss_idle']:.0f} / {r['rss_peak']:.0f} | {r['seed_secs']:.0f} | {r['errors']} |")
    errs = [r for r in rows if r["first_error"]]
    for r in errs:
        print(f"\nfirst error ({r['backend']}, {r['users']}, {r['scenario']}): {r['first_error']}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
