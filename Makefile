# The two commands of README.md: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
.PHONY: run two-instances soak test setup build bench bench-audit bench-keys bench-scim bench-outbox bench-signals fuzz-api

run: build
	scripts/run.sh

two-instances: build
	scripts/two-instances.sh

soak: build
	scripts/soak.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

build: setup
	source scripts/env.sh && cargo leptos build --release

bench: build
	scripts/bench-users.sh

bench-audit: build
	scripts/bench-audit.sh

bench-keys: build
	scripts/bench-keys.sh

bench-scim: build
	scripts/bench-scim.sh

bench-outbox: build
	scripts/bench-outbox.sh

bench-signals: build
	scripts/bench-signals.sh

fuzz-api: build
	scripts/fuzz-api-standalone.sh
