# Every routine command in one place. CI runs `.ci/run`, which uses the same.

PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-postgres interop web-test openapi bench bench-quick bench-micro bench-propagation fmt lint doc ci

run:            ## start on the embedded default (SQLite) with demo data
	cargo run -- serve --demo

test:           ## the whole suite on SQLite
	cargo test --workspace

test-postgres:  ## the whole suite on PostgreSQL (a fresh database per test)
	TESSERA_TEST_POSTGRES_URL=$(PG_URL) cargo test --workspace

interop:        ## off-the-shelf Node OAuth/JOSE libraries against the real binary
	cargo build -p tessera-cli
	bash tests/interop/run.sh $${CARGO_TARGET_DIR:-target}/debug/tessera

web-test:       ## the web page end to end in headless Chromium (needs /usr/bin/chromium)
	cargo build -p tessera-cli
	bash tests/web/run.sh $${CARGO_TARGET_DIR:-target}/debug/tessera

openapi:        ## print the management API's OpenAPI document and validate it
	cargo run -q -p tessera-cli -- openapi > $${TMPDIR:-/tmp}/tessera-openapi.json
	python3 -m openapi_spec_validator $${TMPDIR:-/tmp}/tessera-openapi.json

bench:          ## end-to-end benchmark: floor vs Tessera, prints the results table (~10 min)
	cargo build --release -p tessera-cli -p tessera-bench
	$${CARGO_TARGET_DIR:-target}/release/tessera-bench run

bench-quick:    ## the same scenarios, 1 s each with fewer clients: a smoke run
	cargo build --release -p tessera-cli -p tessera-bench
	$${CARGO_TARGET_DIR:-target}/release/tessera-bench run --quick

bench-propagation: ## a deleted secret's refusal by a running replica, 1,000 deletions, SQLite then PostgreSQL
	cargo build --release -p tessera-cli -p tessera-bench
	$${CARGO_TARGET_DIR:-target}/release/tessera-bench propagation --deletions 1000
	psql "$(PG_URL)" -qc 'DROP DATABASE IF EXISTS tessera_bench_propagation' -c 'CREATE DATABASE tessera_bench_propagation'
	$${CARGO_TARGET_DIR:-target}/release/tessera-bench propagation --deletions 1000 \
	  --database-url $(dir $(PG_URL))tessera_bench_propagation

bench-micro:    ## criterion micro-benchmarks: signing per algorithm, request parsing
	cargo bench -p tessera-bench

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

ci:             ## what CI runs, on this checkout
	bash .ci/run
