# Sourced by the other scripts: tool paths and the shared build directory.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# One build directory outside the clone, so a fresh clone on the same machine builds warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
# cargo-leptos passes this to the compiler; set it for plain cargo too so both share artifacts.
export LEPTOS_OUTPUT_NAME=gatehouse
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
export LEPTOS_TAILWIND_VERSION="${LEPTOS_TAILWIND_VERSION:-v4.1.0}"
export GATEHOUSE_BIN="$CARGO_TARGET_DIR/release/gatehouse"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export GATEHOUSE_BUILD_COMMIT="${GATEHOUSE_BUILD_COMMIT:-$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || true)}"   # shown on /system
