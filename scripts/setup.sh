#!/usr/bin/env bash
# Installs what Gatehouse needs to build, run and test; skips whatever is already there.
# Only package registries are used (crates.io, npm, PyPI, Debian).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
say() { echo "setup: $*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (about 13 minutes on 2 cores)"
  cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads
fi

# The CLI must equal the wasm-bindgen crate in Cargo.lock. (--locked fails against the registry here.)
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  say "installing wasm-bindgen-cli $WB_VERSION"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

npm_install() {
  local dir="$1" stamp="$1/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
    say "npm install in ${dir#$ROOT/}"; (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}
npm_install "$ROOT"            # tailwindcss, wasm-opt (binaryen)
npm_install "$ROOT/end2end"    # oidc-provider, playwright-core

missing=()
command -v chromium >/dev/null || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v ss >/dev/null || missing+=(iproute2)   # ss: which process holds a port test.sh needs
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)   # python3 -m venv
command -v openssl >/dev/null || missing+=(openssl)   # make run: the dev Shared Signals signing key
# rsyslogd: the syslog receiver of the SIEM streaming tests (scripts/test.sh starts it unprivileged)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
# rsyslog-gnutls: its TLS driver, for the syslog-over-TLS test
compgen -G "/usr/lib/*/rsyslog/lmnsd_gtls.so" >/dev/null || missing+=(rsyslog-gnutls)
# haproxy: the load balancer of the scale-out test and scripts/two-instances.sh (started by them,
# unprivileged, in the foreground)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# Debian's package starts a system HAProxy (on no port of ours); only the binary is wanted.
if command -v systemctl >/dev/null && systemctl is-active --quiet haproxy 2>/dev/null; then
  as_root systemctl disable --now haproxy
fi

# promtool checks the /metrics exposition in the tests (tests/it/metrics.rs). Debian ships it only
# in the prometheus package: the whole server (about 100 MB installed, without the recommended node
# exporter). Only promtool is wanted, so a server systemd started on install is stopped again.
if ! command -v promtool >/dev/null; then
  say "installing prometheus (for promtool) from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    as_root systemctl disable --now prometheus
  fi
fi

# schemathesis (PyPI), for the API fuzz tests (scripts/fuzz-api.sh), in the clone's own .venv.
ST_VERSION=4.32.5
if [ "$("$ROOT/.venv/bin/st" --version 2>/dev/null)" != "st, version $ST_VERSION" ]; then
  say "installing schemathesis $ST_VERSION into .venv (about 15 seconds)"
  python3 -m venv --clear "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
# scim2-tester (PyPI), the SCIM conformance checks (scripts/scim-check.py), in the same .venv.
# Its HTTP engine is scim2-client's `httpx2` extra, pinned with it.
SCIM_TESTER_VERSION=0.5.2 SCIM_CLIENT_VERSION=0.13.2
if [ "$("$ROOT/.venv/bin/python" -c 'import importlib.metadata as m, httpx2; print(m.version("scim2-tester"), m.version("scim2-client"))' 2>/dev/null)" != "$SCIM_TESTER_VERSION $SCIM_CLIENT_VERSION" ]; then
  say "installing scim2-tester $SCIM_TESTER_VERSION into .venv (about 10 seconds)"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check "scim2-tester==$SCIM_TESTER_VERSION" \
    "scim2-client[httpx2]==$SCIM_CLIENT_VERSION"
fi
# scim2-server (PyPI), an in-memory SCIM service provider: the target of the provisioning-out
# tests (tests/it/provisioning_out.rs), in the same .venv.
SCIM_SERVER_VERSION=0.8.3
if [ "$("$ROOT/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null)" != "$SCIM_SERVER_VERSION" ]; then
  say "installing scim2-server $SCIM_SERVER_VERSION into .venv (about 10 seconds)"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$SCIM_SERVER_VERSION"
fi
# joserfc (PyPI), the JOSE library of the SSF test peer (tests/ssf/peer.py): the receiver and
# transmitter of the Shared Signals tests, in the same .venv.
JOSERFC_VERSION=1.8.0
if [ "$("$ROOT/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("joserfc"))' 2>/dev/null)" != "$JOSERFC_VERSION" ]; then
  say "installing joserfc $JOSERFC_VERSION into .venv (a few seconds)"
  "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check "joserfc==$JOSERFC_VERSION"
fi
say "ready"
