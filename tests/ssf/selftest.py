#!/usr/bin/env python3
"""Self-test of the SSF test peer (tests/ssf/peer.py): run with `.venv/bin/python tests/ssf/selftest.py`.

Starts the peer on a free port, makes one transmitter tenant and one receiver tenant trusting it (so the
receiver's discovery and key fetch run against the peer itself), then sends a valid SET, each forgery, a
replay, and SETs that break one rule each, and checks the receiver's answers and what it kept.
Exits 1 when a check fails.
"""
import base64
import hashlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PEER = Path(__file__).with_name("peer.py")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
AUD = "https://app.example"
AUTH = "Bearer selftest-secret"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
results: list[tuple[bool, str]] = []


def check(ok: bool, what: str, detail="") -> bool:
    results.append((bool(ok), what))
    print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok else f'  ({detail})'}")
    return bool(ok)


def http(method: str, url: str, body=None, headers=None):
    """Returns (status, headers, parsed JSON or text)."""
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and not req.has_header("Content-type"):
        req.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(req, timeout=30) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        return status, hdrs, json.loads(raw) if raw else raw.decode()
    except ValueError:
        return status, hdrs, raw.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thumbprint(jwk: dict) -> str:
    """RFC 7638, computed here independently of joserfc."""
    canon = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


def run(base: str):
    status, _, tx = http("POST", f"{base}/transmitters/tx1", {})
    check(status == 201 and tx["issuer"] == f"{base}/transmitters/tx1", "transmitter created", tx)
    status, _, meta = http("GET", f"{base}/.well-known/ssf-configuration/transmitters/tx1")
    check(status == 200 and meta.get("issuer") == tx["issuer"] and meta.get("jwks_uri") == tx["jwks_uri"]
          and meta.get("spec_version") == "1_0" and meta.get("delivery_methods_supported") == ["urn:ietf:rfc:8935"],
          "transmitter metadata at the well-known URL (between host and path)", meta)
    status, _, jwks = http("GET", tx["jwks_uri"])
    key = jwks["keys"][0] if status == 200 and len(jwks.get("keys", [])) == 1 else {}
    check(key.get("kty") == "RSA" and "d" not in key and key.get("kid") == thumbprint(key),
          "JWKS: one public RSA key, kid = RFC 7638 thumbprint", jwks)

    status, _, rx = http("POST", f"{base}/receivers/rx1", {"issuer": tx["issuer"], "audience": AUD,
                                                           "authorization": AUTH})
    endpoint = rx.get("endpoint_url") if isinstance(rx, dict) else None
    check(status == 201 and endpoint == f"{base}/receivers/rx1/push", "receiver created", rx)

    valid = {"aud": AUD, "sub_id": {"format": "email", "email": "jane@example.com"},
             "events": {SESSION_REVOKED: {"initiating_entity": "policy", "reason_admin": {"en": "test"},
                                          "event_timestamp": int(time.time())}}}
    pushes = 0

    def send(claims=None, forge=None, header=None, authorization=AUTH, tenant="tx1"):
        nonlocal pushes
        pushes += 1
        body = {"endpoint_url": endpoint, "claims": valid if claims is None else claims}
        if authorization is not None:
            body["authorization"] = authorization
        if forge:
            body["forge"] = forge
        if header:
            body["header"] = header
        status, _, answer = http("POST", f"{base}/transmitters/{tenant}/send", body)
        assert status == 200, f"send answered {status}: {answer}"
        return answer

    def refused(answer, err, what, status=400):
        try:
            body = json.loads(answer["body"])
        except ValueError:
            body = {}
        return check(answer["status"] == status and body.get("err") == err and body.get("description"),
                     f"{what}: {status} {err}", answer["status"], )

    first = send()
    check(first["status"] == 202 and first["body"] == "", "valid SET: 202 with an empty body", first)
    status, _, state = http("GET", f"{base}/receivers/rx1")
    got = state["accepted"][0] if len(state.get("accepted", [])) == 1 else {}
    check(got.get("claims", {}).get("jti") == first["jti"] and got.get("header", {}).get("typ") == "secevent+jwt"
          and got.get("header", {}).get("kid") == key.get("kid"), "valid SET kept in accepted", state)

    refused(send(forge="wrong_key"), "invalid_key", "forge wrong_key (unpublished key, published kid)")
    refused(send(forge="no_typ"), "invalid_request", "forge no_typ")
    refused(send(forge="alg_none"), "invalid_key", "forge alg_none")
    refused(send(forge="hs256"), "invalid_key", "forge hs256 (HMAC keyed with the public key)")
    refused(send(dict(valid, aud="https://other.example")), "invalid_audience", "wrong audience")
    refused(send(dict(valid, iss="https://evil.example")), "invalid_issuer", "wrong iss")
    refused(send(dict(valid, exp=int(time.time()) + 60)), "invalid_request", "exp present")
    refused(send(dict(valid, sub="jane")), "invalid_request", "sub present")
    refused(send(dict(valid, sub_id=None)), "invalid_request", "sub_id missing")
    refused(send(dict(valid, jti=None)), "invalid_request", "jti missing")
    refused(send(dict(valid, iat=None)), "invalid_request", "iat missing")
    two = dict(valid, events={**valid["events"], "https://schemas.openid.net/secevent/caep/event-type/x": {}})
    refused(send(two), "invalid_request", "two events")
    refused(send(dict(valid, jti=first["jti"], txn="other")), "invalid_request", "jti reused by a different SET")
    refused(send(header={"kid": "no-such-kid"}), "invalid_key", "unknown kid (after one JWKS refetch)")
    refused(send(authorization="Bearer wrong"), "authentication_failed", "wrong Authorization", 401)
    refused(send(authorization=None), "authentication_failed", "no Authorization", 401)

    # RFC 8935 section 2: the same SET sent again is answered as if new, and must not count twice.
    pushes += 1
    _, _, again = http("POST", f"{base}/transmitters/tx1/resend",
                       {"endpoint_url": endpoint, "authorization": AUTH, "token": first["token"]})
    check(again["status"] == 202 and again["jti"] == first["jti"], "replay (resend): 202, as RFC 8935 asks", again)

    # The RFC 8935 error answer itself, checked directly.
    pushes += 1
    status, hdrs, body = http("POST", endpoint, b"not a jwt",
                              {"Content-Type": "application/secevent+jwt", "Authorization": AUTH})
    check(status == 400 and hdrs.get("Content-Type") == "application/json" and hdrs.get("Content-Language") == "en"
          and body.get("err") == "invalid_request", "error answer: 400, application/json, Content-Language", body)
    pushes += 1
    status, _, body = http("POST", endpoint, first["token"].encode(),
                           {"Content-Type": "application/jwt", "Authorization": AUTH})
    check(status == 400 and body.get("err") == "invalid_request", "wrong Content-Type refused", body)

    status, _, state = http("GET", f"{base}/receivers/rx1")
    check(len(state["accepted"]) == 1, "accepted stays at 1 after every refusal and the replay",
          len(state["accepted"]))
    check(state["duplicates"] == [first["jti"]], "the replay is counted as a duplicate", state["duplicates"])
    errs = [r["err"] for r in state["rejected"]]
    check(len(errs) == pushes - 2 and all(errs), "every refusal is stored with its err", errs)
    check(state["pushes"] == pushes, f"pushes counts every push ({pushes})", state["pushes"])

    # Key rotation: a new key (new kid) makes the receiver fetch the JWKS again.
    http("POST", f"{base}/transmitters/tx1", {})
    check(send()["status"] == 202, "after key rotation: the new kid is fetched and accepted")

    # Fault injection for retry tests.
    status, _, _ = http("POST", f"{base}/receivers/rx1/fail", {"status": 503, "times": 2})
    statuses = [send()["status"] for _ in range(3)]
    check(status == 200 and statuses == [503, 503, 202], "fail: the next 2 pushes answer 503", statuses)

    # A receiver whose transmitter cannot be reached refuses (and the peer keeps serving).
    _, _, rx2 = http("POST", f"{base}/receivers/rx2", {"issuer": "http://127.0.0.1:9", "audience": AUD})
    status, _, answer = http("POST", f"{base}/transmitters/tx1/send", {"endpoint_url": rx2["endpoint_url"],
                                                                        "claims": valid})
    refused(answer, "invalid_key", "discovery failure")
    # Metadata whose issuer differs from the configured one (trailing slash) is refused.
    _, _, rx3 = http("POST", f"{base}/receivers/rx3", {"issuer": tx["issuer"] + "/", "audience": AUD})
    _, _, answer = http("POST", f"{base}/transmitters/tx1/send", {"endpoint_url": rx3["endpoint_url"],
                                                                   "claims": dict(valid, iss=tx["issuer"] + "/")})
    refused(answer, "invalid_issuer", "metadata issuer differs from the configured issuer")

    # Tenants are independent: 8 pairs at once, 5 SETs each, each receiver keeps exactly its own 5.
    def pair(i):
        _, _, t = http("POST", f"{base}/transmitters/par{i}", {})
        _, _, r = http("POST", f"{base}/receivers/par{i}", {"issuer": t["issuer"], "audience": AUD})
        for _ in range(5):
            http("POST", f"{base}/transmitters/par{i}/send", {"endpoint_url": r["endpoint_url"], "claims": valid})
        state = http("GET", f"{base}/receivers/par{i}")[2]
        return len(state["accepted"]), {a["claims"]["iss"] for a in state["accepted"]} == {t["issuer"]}
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(pair, range(8)))
    check(outcomes == [(5, True)] * 8, "8 tenant pairs in parallel keep their own SETs", outcomes)

    # Mistakes in requests to the peer itself.
    check(http("GET", f"{base}/receivers/nobody")[0] == 404, "unknown receiver: 404")
    status, _, body = http("POST", f"{base}/receivers/rx4", b"{not json")
    check(status == 400 and "error" in body, "bad JSON: 400 {error}", body)
    status, _, body = http("POST", f"{base}/receivers/rx4", {"issuer": tx["issuer"], "audience": AUD, "x": 1})
    check(status == 400 and "error" in body, "unknown field: 400 {error}", body)
    status, _, body = http("POST", f"{base}/transmitters/tx1/send", {"endpoint_url": endpoint, "claims": valid,
                                                                     "forge": "nonsense"})
    check(status == 400 and "error" in body, "unknown forge: 400 {error}", body)
    check(http("GET", f"{base}/health")[2] == "ok", "still healthy")


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w+", prefix="ssf-peer-", suffix=".log", delete=False)
    peer = subprocess.Popen([sys.executable, str(PEER), "--port", str(port)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            if peer.poll() is not None:
                break
            try:
                if http("GET", f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        if not check(peer.poll() is None, "peer started", f"see {log.name}"):
            return 1
        try:
            run(base)
        except Exception as e:  # an unexpected answer shape: one failure, reported
            check(False, "selftest ran to the end", repr(e))
    finally:
        peer.terminate()
        peer.wait(10)
    failed = [what for ok, what in results if not ok]
    if failed:
        print(f"\nselftest: {len(results) - len(failed)} passed, {len(failed)} failed (peer log: {log.name})")
        return 1
    Path(log.name).unlink()
    print(f"\nselftest: {len(results)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
