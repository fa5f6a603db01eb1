"""Runs the third-party SCIM validator scim2-tester (PyPI) against a running server.

Usage: scim2_check.py BASE_URL TOKEN [EXCLUDED_TAG...]
Prints one line per check (`STATUS title: reason`) and a closing
`scim2-tester: N passed, N failed`; exits 1 when any check errs.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token, *excluded = sys.argv[1:]
    http = httpx2.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    client = SyncSCIMClient(http)
    results = check_server(client, exclude_tags=set(excluded) or None)
    passed = failed = 0
    for r in results:
        status = r.status
        title = getattr(r, "title", "") or ""
        reason = getattr(r, "reason", "") or ""
        print(f"{status.name} {title}: {reason}")
        if status in (Status.ERROR, Status.CRITICAL):
            failed += 1
        elif status == Status.SUCCESS:
            passed += 1
    print(f"scim2-tester: {passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
