"""Checks Gatehouse's SCIM service provider with scim2-tester (RFC 7643/7644 conformance).

    .venv/bin/python scripts/scim-check.py BASE_URL TOKEN REPORT

BASE_URL is the server (http://127.0.0.1:3102), TOKEN a provisioning source's token. Every
check scim2-tester offers runs (discovery, CRUD, PATCH, queries, a random URL) for Users and
Groups; each result is one JUnit test case in REPORT: ERROR, CRITICAL and DEVIATION fail it.
Checks scim2-tester skips (what the server declares it does not offer: bulk, sort) are printed
and left out of the report. Exits 1 when a check failed or none ran.
"""
import sys
from xml.sax.saxutils import escape, quoteattr

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}

def main() -> int:
    base, token, report = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    http = Client(base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http), resource_types=["User", "Group"])
    cases, failed, skipped = [], 0, 0
    for i, r in enumerate(results, 1):
        name = f"{i:03d} {r.title}" + (f" [{r.resource_type}]" if getattr(r, "resource_type", None) else "")
        line = f"{r.status.name:<10} {name}: {r.reason or ''}".strip()
        print(line, flush=True)
        if r.status == Status.SKIPPED:
            skipped += 1
            continue
        body = ""
        if r.status in FAILING:
            failed += 1
            detail = f"{r.reason or ''}\n{r.data!r}"[:4000]
            body = f"<failure message={quoteattr(r.status.name)}>{escape(detail)}</failure>"
        cases.append(f"<testcase classname=\"scim2-tester\" name={quoteattr(name)}>{body}</testcase>")
    with open(report, "w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="scim2-tester" tests="{len(cases)}" failures="{failed}">\n')
        out.write("\n".join(cases))
        out.write("\n</testsuite>\n")
    print(f"scim2-tester: {len(cases)} checks, {failed} failed, {skipped} not applicable (skipped)")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
