#!/usr/bin/env python3
"""SSF test peer: an OpenID Shared Signals Framework 1.0 receiver and transmitter for Gatehouse's tests.

Run: .venv/bin/python tests/ssf/peer.py --port 4195

Every JOSE operation is done by the third-party library joserfc, so what Gatehouse signs is checked by an
independent implementation, and what Gatehouse must verify was signed by one. Each test works in its own
named tenant (a receiver or a transmitter), so tests can run in parallel. All state is in memory.

Receiver role (Gatehouse transmits; RFC 8935 push):
  POST /receivers/<name>            {"issuer", "audience", "authorization"?} -> 201 {"endpoint_url"}
  POST /receivers/<name>/push       a SET, verified as below -> 202, or 400/401 {"err", "description"}
  POST /receivers/<name>/fail       {"status", "times"}: the next `times` pushes answer `status` unverified
  GET  /receivers/<name>            {"accepted", "rejected", "duplicates", "pushes"}
Transmitter role (Gatehouse receives):
  POST /transmitters/<name>         {} -> 201 {"issuer", "jwks_uri", "configuration_url"} (fresh RSA key)
  GET  /.well-known/ssf-configuration/transmitters/<name>, GET /transmitters/<name>/jwks.json
  POST /transmitters/<name>/send    {"endpoint_url", "authorization"?, "claims", "forge"?, "header"?}
  POST /transmitters/<name>/resend  {"endpoint_url", "authorization"?, "token"}
GET /health -> "ok". Mistakes in requests to the peer itself: 400 (404 for an unknown name) {"error"}.
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwk, jws, jwt
from joserfc.errors import BadSignatureError, ClaimError, InvalidKeyIdError, InvalidPayloadError, JoseError

SET_MEDIA_TYPE = "application/secevent+jwt"
# RS256 only (CAEP interoperability profile). Header parameters joserfc does not know are allowed, as
# JWS allows them; `crit` is still enforced.
REGISTRY = jws.JWSRegistry(algorithms=["RS256"], strict_check_header=False)
LEEWAY = 300  # seconds of clock skew allowed for `iat`
MAX_BODY = 1 << 20
FORGES = (None, "wrong_key", "no_typ", "alg_none", "hs256")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is answered as it is: a test must see the status the other side gave


# No proxy: the peers are on 127.0.0.1, whatever http_proxy says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)

lock = threading.Lock()  # guards receivers and transmitters; never held across network I/O
receivers: dict[str, dict] = {}
transmitters: dict[str, dict] = {}
base_url = ""  # http://host:port of this peer, set at start


class BadRequest(Exception):
    """A mistake in a request to the peer itself (not a SET delivery error)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class Refusal(Exception):
    """An RFC 8935 delivery error: answered as {"err", "description"} and stored with the tenant."""

    def __init__(self, err, description, status=400, headers=()):
        super().__init__(description)
        self.err, self.description, self.status, self.headers = err, description, status, list(headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def fields(body: dict, required: dict, optional: dict) -> dict:
    """Checks a peer request's fields and their types (null = absent). Unknown fields are refused, so a
    typo in a test shows at once."""
    missing = {k for k in required if body.get(k) is None}
    unknown = body.keys() - required.keys() - optional.keys()
    if missing or unknown:
        raise BadRequest(f"missing field(s) {sorted(missing)}, unknown field(s) {sorted(unknown)}")
    for name, kind in {**required, **optional}.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise BadRequest(f"{name} must be of JSON type {kind.__name__}")
    return body


def http_url(value, what: str) -> str:
    parts = urllib.parse.urlsplit(value) if isinstance(value, str) else None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"{what} must be an http(s) URL")
    return value


def tenant(table: dict, name: str, what: str) -> dict:
    with lock:
        found = table.get(name)
    if found is None:
        raise BadRequest(f"no {what} named {name!r}", 404)
    return found


# ---------------------------------------------------------------- receiver role

def get_json(url: str):
    with OPENER.open(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=10) as resp:
        return json.loads(resp.read())


def fetch_keys(issuer: str) -> jwk.KeySet:
    """SSF transmitter discovery: the well-known path goes between host and path (issuer without its
    trailing slash), the metadata's issuer must equal the configured one, and the keys are at jwks_uri."""
    parts = urllib.parse.urlsplit(issuer)
    url = f"{parts.scheme}://{parts.netloc}/.well-known/ssf-configuration{parts.path.rstrip('/')}"
    try:
        meta = get_json(url)
    except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors, bad JSON a ValueError
        raise Refusal("invalid_key", f"cannot read the transmitter metadata at {url}: {e}")
    if not isinstance(meta, dict) or meta.get("issuer") != issuer:
        got = meta.get("issuer") if isinstance(meta, dict) else None
        raise Refusal("invalid_issuer", f"the metadata at {url} names issuer {got!r}, not {issuer!r}")
    jwks_uri = meta.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise Refusal("invalid_key", f"the metadata at {url} has no jwks_uri")
    try:
        return jwk.KeySet.import_key_set(get_json(jwks_uri))
    except (OSError, ValueError, JoseError, KeyError, TypeError) as e:
        raise Refusal("invalid_key", f"cannot read a JWKS at {jwks_uri}: {e}")


def find_key(rx: dict, kid):
    """The key named by kid, from the tenant's cached JWKS; fetched again once when kid is unknown
    (the transmitter may have rotated its key)."""
    keys = rx["keys"]
    for attempt in range(2):
        if keys is None or attempt == 1:
            keys = fetch_keys(rx["issuer"])
            with lock:
                rx["keys"] = keys
        try:
            key = keys.get_by_kid(kid)
            break
        except InvalidKeyIdError:
            continue
    else:
        raise Refusal("invalid_key", f"no key with kid {kid!r} in the transmitter's JWKS")
    if not isinstance(key, jwk.RSAKey) or key.raw_value.key_size < 2048:
        raise Refusal("invalid_key", f"key {kid!r} is not an RSA key of at least 2048 bits")
    return key


def verify(rx: dict, headers, body: bytes):
    """Checks one pushed SET as SSF 1.0, the CAEP interop profile and RFC 8935 ask; returns (header, claims)."""
    if rx["authorization"] is not None and headers.get("Authorization") != rx["authorization"]:
        challenge = [("WWW-Authenticate", rx["authorization"].split(" ")[0] or "Bearer")]
        raise Refusal("authentication_failed", "missing or wrong Authorization header", 401, challenge)
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != SET_MEDIA_TYPE:
        raise Refusal("invalid_request", f"Content-Type must be {SET_MEDIA_TYPE}, not {ctype or 'absent'}")
    try:
        token = body.decode("ascii")
        header = jws.extract_compact(body, registry=REGISTRY).headers()
    except (UnicodeDecodeError, JoseError, ValueError) as e:
        raise Refusal("invalid_request", f"the body is not a compact JWS: {e}")
    # RFC 7515 4.1.9: a typ without "/" means "application/" + typ; media types ignore case.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ("secevent+jwt", SET_MEDIA_TYPE):
        raise Refusal("invalid_request", f"header typ must be secevent+jwt, not {typ!r}")
    if header.get("alg") != "RS256":
        raise Refusal("invalid_key", f"alg {header.get('alg')!r} is not accepted (RS256 only)")
    kid = header.get("kid")
    key = find_key(rx, kid)
    try:
        claims = jwt.decode(token, key, registry=REGISTRY).claims
    except BadSignatureError:
        raise Refusal("invalid_key", f"the signature does not verify with key {kid!r}")
    except InvalidPayloadError:
        raise Refusal("invalid_request", "the payload is not a JSON object")
    except JoseError as e:
        raise Refusal("invalid_request", f"the JWS is not acceptable: {e}")
    for name in ("sub", "exp"):  # SSF: an SSF SET has no sub (sub_id instead) and no exp
        if name in claims:
            raise Refusal("invalid_request", f"claim {name} must not be present in an SSF SET")
    if claims.get("iss") != rx["issuer"]:
        raise Refusal("invalid_issuer", f"iss is {claims.get('iss')!r}, expected {rx['issuer']!r}")
    aud = claims.get("aud")
    if rx["audience"] not in ([aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []):
        raise Refusal("invalid_audience", f"aud {aud!r} does not contain {rx['audience']!r}")
    try:  # types of iss, aud, jti, iat; iat not in the future
        jwt.JWTClaimsRegistry(leeway=LEEWAY, jti={"essential": True}, iat={"essential": True}).validate(claims)
    except ClaimError as e:
        raise Refusal("invalid_request", f"claim {e.claim}: {e.description}")
    sub_id = claims.get("sub_id")
    if not isinstance(sub_id, dict) or not isinstance(sub_id.get("format"), str):
        raise Refusal("invalid_request", "sub_id must be an object with a format")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1 or not all(isinstance(v, dict) for v in events.values()):
        raise Refusal("invalid_request", "events must hold exactly one event, an object")
    return header, claims


def push(handler, body: bytes, name: str):
    rx = tenant(receivers, name, "receiver")
    with lock:
        rx["pushes"] += 1
        fault = rx["fail"]
        if fault["times"] > 0:  # injected failure: answered before any check
            fault["times"] -= 1
            return handler.reply(fault["status"], None, note="injected")
    try:
        header, claims = verify(rx, handler.headers, body)
        with lock:
            seen = rx["seen"].get(claims["jti"])
            if seen is None:
                rx["seen"][claims["jti"]] = claims
                rx["accepted"].append({"header": header, "claims": claims})
            elif seen == claims:
                # RFC 8935 section 2: a SET sent again is answered as if it were new; it is kept once.
                rx["duplicates"].append(claims["jti"])
            else:
                raise Refusal("invalid_request", f"jti {claims['jti']!r} was already used by another SET")
    except Refusal as r:
        with lock:
            rx["rejected"].append({"err": r.err, "description": r.description})
        raise
    handler.reply(202, None, note=f"accepted {claims['jti']}" if seen is None else f"duplicate {claims['jti']}")


def configure_receiver(handler, body: bytes, name: str):
    cfg = fields(handler.json_body(body), {"issuer": str, "audience": str}, {"authorization": str})
    http_url(cfg["issuer"], "issuer")
    rx = {"issuer": cfg["issuer"], "audience": cfg["audience"], "authorization": cfg.get("authorization"),
          "accepted": [], "rejected": [], "duplicates": [], "pushes": 0, "seen": {},
          "fail": {"status": 0, "times": 0}, "keys": None}
    with lock:
        receivers[name] = rx  # replaces any earlier config and everything received
    handler.reply(201, {"endpoint_url": f"{base_url}/receivers/{name}/push"})


def inject_failure(handler, body: bytes, name: str):
    rx = tenant(receivers, name, "receiver")
    cfg = fields(handler.json_body(body), {"status": int, "times": int}, {})
    status, times = cfg["status"], cfg["times"]
    if not 200 <= status <= 599 or times < 0:
        raise BadRequest("status must be an integer 200-599 and times an integer >= 0")
    with lock:
        rx["fail"] = {"status": status, "times": times}
    handler.reply(200, {"status": status, "times": times})


def receiver_state(handler, body: bytes, name: str):
    rx = tenant(receivers, name, "receiver")
    with lock:  # serialized under the lock: a consistent snapshot
        data = json.dumps({k: rx[k] for k in ("accepted", "rejected", "duplicates", "pushes")}).encode()
    handler.reply(200, data)


# ---------------------------------------------------------------- transmitter role

def new_rsa_key():
    # kid = RFC 7638 thumbprint (joserfc's auto_kid)
    return jwk.RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


def create_transmitter(handler, body: bytes, name: str):
    fields(handler.json_body(body), {}, {})
    issuer = f"{base_url}/transmitters/{name}"
    tx = {"issuer": issuer, "key": new_rsa_key(), "rogue": None}
    with lock:
        transmitters[name] = tx  # a fresh key on every POST: tests of key rotation POST again
    handler.reply(201, {"issuer": issuer, "jwks_uri": f"{issuer}/jwks.json",
                        "configuration_url": f"{base_url}/.well-known/ssf-configuration/transmitters/{name}"})


def transmitter_metadata(handler, body: bytes, name: str):
    tx = tenant(transmitters, name, "transmitter")
    handler.reply(200, {"spec_version": "1_0", "issuer": tx["issuer"], "jwks_uri": f"{tx['issuer']}/jwks.json",
                        "delivery_methods_supported": ["urn:ietf:rfc:8935"]})


def transmitter_jwks(handler, body: bytes, name: str):
    tx = tenant(transmitters, name, "transmitter")
    handler.reply(200, {"keys": [tx["key"].as_dict(private=False)]})


def sign(tx: dict, header: dict, claims: dict, forge) -> str:
    if forge == "alg_none":  # unsigned: joserfc refuses to make one, so built by hand
        return f"{b64json({**header, 'alg': 'none'})}.{b64json(claims)}."
    if forge == "hs256":  # key confusion: HMAC keyed with the public key (PEM), as a naive verifier would
        signing_input = f"{b64json({**header, 'alg': 'HS256'})}.{b64json(claims)}"
        mac = hmac.new(tx["key"].as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"
    key = tx["key"]
    if forge == "wrong_key":  # a key never published, under the published kid
        with lock:
            tx["rogue"] = tx["rogue"] or new_rsa_key()
            key = tx["rogue"]
    if forge == "no_typ":
        header.pop("typ", None)
    return jwt.encode(header, claims, key, registry=REGISTRY, default_type=None)


def deliver(endpoint_url: str, token: str, authorization):
    """RFC 8935 push; answers what the receiver answered."""
    req = urllib.request.Request(endpoint_url, data=token.encode(), method="POST",
                                 headers={"Content-Type": SET_MEDIA_TYPE, "Accept": "application/json"})
    if authorization is not None:
        req.add_header("Authorization", authorization)
    try:
        with OPENER.open(req, timeout=15) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        raise BadRequest(f"cannot deliver to {endpoint_url}: {e}", 502)


def send(handler, body: bytes, name: str):
    tx = tenant(transmitters, name, "transmitter")
    req = fields(handler.json_body(body), {"endpoint_url": str, "claims": dict},
                 {"authorization": str, "forge": str, "header": dict})
    if req.get("forge") not in FORGES:
        raise BadRequest(f"forge must be one of {FORGES}")
    endpoint_url = http_url(req["endpoint_url"], "endpoint_url")
    defaults = {"iss": tx["issuer"], "iat": int(time.time()), "jti": uuid.uuid4().hex}
    # A null claim or header field is left out, so tests can send SETs that lack one.
    claims = {k: v for k, v in {**defaults, **req["claims"]}.items() if v is not None}
    header = {"alg": "RS256", "typ": "secevent+jwt", "kid": tx["key"].kid, **(req.get("header") or {})}
    header = {k: v for k, v in header.items() if v is not None}
    try:
        token = sign(tx, header, claims, req.get("forge"))
    except (JoseError, ValueError, TypeError) as e:
        raise BadRequest(f"cannot sign: {e}")
    status, text = deliver(endpoint_url, token, req.get("authorization"))
    handler.reply(200, {"status": status, "body": text, "jti": claims.get("jti"), "token": token}, note=str(status))


def resend(handler, body: bytes, name: str):
    tenant(transmitters, name, "transmitter")
    req = fields(handler.json_body(body), {"endpoint_url": str, "token": str}, {"authorization": str})
    token = req["token"]
    try:  # jti only for the answer; the token is sent as it is
        jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")).get("jti")
    except (ValueError, IndexError, AttributeError):
        jti = None
    status, text = deliver(http_url(req["endpoint_url"], "endpoint_url"), token, req.get("authorization"))
    handler.reply(200, {"status": status, "body": text, "jti": jti, "token": token}, note=str(status))


def health(handler, body: bytes):
    handler.reply(200, b"ok", content_type="text/plain")


NAME = r"([A-Za-z0-9._-]{1,100})"
ROUTES = [
    ("GET", r"/health", health),
    ("POST", rf"/receivers/{NAME}", configure_receiver),
    ("GET", rf"/receivers/{NAME}", receiver_state),
    ("POST", rf"/receivers/{NAME}/push", push),
    ("POST", rf"/receivers/{NAME}/fail", inject_failure),
    ("POST", rf"/transmitters/{NAME}", create_transmitter),
    ("GET", rf"/\.well-known/ssf-configuration/transmitters/{NAME}", transmitter_metadata),
    ("GET", rf"/transmitters/{NAME}/jwks\.json", transmitter_jwks),
    ("POST", rf"/transmitters/{NAME}/send", send),
    ("POST", rf"/transmitters/{NAME}/resend", resend),
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    server_version = "ssf-peer"

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_request(self, code="-", size="-"):
        pass  # reply() writes the one line per request

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):  # the clients in use send a Content-Length
            raise ValueError("Transfer-Encoding is not supported; send a Content-Length")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"Content-Length must be 0 to {MAX_BODY}")
        return self.rfile.read(length)

    def json_body(self, body: bytes) -> dict:
        try:
            value = json.loads(body) if body.strip() else {}
        except ValueError as e:
            raise BadRequest(f"body is not JSON: {e}")
        if not isinstance(value, dict):
            raise BadRequest("body must be a JSON object")
        return value

    def dispatch(self):
        try:
            try:
                body = self.read_body()
            except ValueError as e:
                self.close_connection = True  # the body was not read: the connection is unusable
                raise BadRequest(str(e))
            path = urllib.parse.urlsplit(self.path).path
            matches = [(m, fn, found.groups()) for m, pattern, fn in ROUTES if (found := re.fullmatch(pattern, path))]
            for method, fn, args in matches:
                if method == self.command:
                    return fn(self, body, *args)
            raise BadRequest("method not allowed" if matches else "no such path", 405 if matches else 404)
        except Refusal as r:  # RFC 8935 2.3: JSON, with Content-Language
            self.reply(r.status, {"err": r.err, "description": r.description},
                       [("Content-Language", "en"), *r.headers], note=f"{r.err}: {r.description}")
        except BadRequest as e:
            self.reply(e.status, {"error": str(e)}, note=str(e))
        except Exception as e:  # a bug in the peer: answered, logged, and the server keeps serving
            traceback.print_exc()
            self.reply(500, {"error": f"internal error: {e!r}"})

    def reply(self, status: int, body, headers=(), note="", content_type="application/json"):
        data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.command} {self.path} {status}"
                         f"{' ' + note if note else ''}\n")


def main():
    global base_url
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4195)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    base_url = f"http://{args.host}:{server.server_address[1]}"
    sys.stderr.write(f"ssf-peer listening on {base_url}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
