# CommsCredits: build, test and run on a developer machine or CI. `make help` lists the targets.
#
# Settings (override on the command line: make run GATEWAY_ENDPOINT=http://127.0.0.1:6000):
#   CONFIGURATION     Release                        build configuration
#   REDIS_PORT        16379                          local Redis started by `make run`
#   POSTGRES_PORT     15432                          local PostgreSQL started by `make run`
#   LOCAL_DIR         .local                         data, logs and pid files of the local stack
#   GATEWAY_ENDPOINT  http://127.0.0.1:5080          -> Server__Endpoint
#   GATEWAY_REDIS     127.0.0.1:$(REDIS_PORT)        -> Storage__Redis
#   GATEWAY_POSTGRES  Host=127.0.0.1;Port=$(POSTGRES_PORT);Username=postgres;Database=commscredits -> Storage__Postgres
#   FILTER            (none)                         dotnet test --filter expression for `make test`
#   LOG_FORMAT        simple                         -> Logging__Console__FormatterName for `make run` (the gateway's default is json)
#   MICROBENCH_FILTER *                              BenchmarkDotNet --filter for `make microbench` ('*Rating*', '*Framing*', ...)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CONFIGURATION ?= Release
SOLUTION := CommsCredits.sln
LOCAL_DIR ?= $(CURDIR)/.local
REDIS_PORT ?= 16379
POSTGRES_PORT ?= 15432
GATEWAY_ENDPOINT ?= http://127.0.0.1:5080
GATEWAY_REDIS ?= 127.0.0.1:$(REDIS_PORT)
GATEWAY_POSTGRES ?= Host=127.0.0.1;Port=$(POSTGRES_PORT);Username=postgres;Database=commscredits
FILTER ?=
MICROBENCH_FILTER ?= *
# `make run` is read by a person at a terminal: plain text lines instead of the JSON an operator's log pipeline reads.
LOG_FORMAT ?= simple

GATEWAY_DLL := src/CommsCredits.Gateway/bin/$(CONFIGURATION)/net10.0/CommsCredits.Gateway.dll
# The demo API keys seed-demo writes (mode 0600) for `make call`; renewed by every `make run`.
DEMO_KEYS := $(LOCAL_DIR)/demo-keys.env
# The simple format writes the timestamp right before the level ("...Zinfo:"); a space after it reads better.
ifeq ($(LOG_FORMAT),simple)
LOG_TIMESTAMP := Logging__Console__FormatterOptions__TimestampFormat="yyyy-MM-dd'T'HH':'mm':'ss.fff'Z '"
endif
GATEWAY_ENVIRONMENT := Storage__Redis='$(GATEWAY_REDIS)' Storage__Postgres='$(GATEWAY_POSTGRES)' Server__Endpoint='$(GATEWAY_ENDPOINT)' Logging__Console__FormatterName='$(LOG_FORMAT)' $(LOG_TIMESTAMP)

# A hung test run is killed (and its test servers reaped) instead of blocking CI forever.
TEST_HANG_TIMEOUT := 20m

export LOCAL_DIR REDIS_PORT POSTGRES_PORT
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: help run stop call build test chaos bench microbench export-bench clean clean-data deps-runtime deps-test stack-start stack-stop stack-status

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  %-14s %s\n", $$1, $$2 }'

run: stack-start build ## Start Redis and PostgreSQL, build, migrate, seed demo data and API keys (printed), serve in the foreground (Ctrl-C stops)
	$(GATEWAY_ENVIRONMENT) dotnet $(GATEWAY_DLL) migrate
	$(GATEWAY_ENVIRONMENT) dotnet $(GATEWAY_DLL) seed-demo --keys-file '$(DEMO_KEYS)'
	@echo "Serving on $(GATEWAY_ENDPOINT); Ctrl-C or 'make stop' stops it."
	$(GATEWAY_ENVIRONMENT) scripts/gateway.sh serve $(GATEWAY_DLL)

stop: ## Stop the gateway started by `make run`, then the local Redis and PostgreSQL
	scripts/gateway.sh stop
	scripts/local-stack.sh stop

call: deps-test ## One call (Reserve, 2 Updates, Terminate) to the running gateway with the C-core Python client and the demo key
	@test -f '$(DEMO_KEYS)' || { echo "no demo API keys in $(DEMO_KEYS): start the gateway with 'make run' first" >&2; exit 1; }
	. '$(DEMO_KEYS)' && COMMSCREDITS_KEY="$$COMMSCREDITS_NETWORK_ELEMENT_KEY" \
		/usr/bin/python3 examples/python/call.py --address '$(patsubst http://%,%,$(GATEWAY_ENDPOINT))' --tenant demo

build: ## Build the solution
	dotnet build $(SOLUTION) -c $(CONFIGURATION)

test: deps-test ## Install the test dependencies, then run every test (FILTER=... to choose)
	dotnet test $(SOLUTION) -c $(CONFIGURATION) \
		--logger "console;verbosity=minimal" --logger "trx;LogFilePrefix=tests" --results-directory TestResults \
		--blame-hang-timeout $(TEST_HANG_TIMEOUT) --blame-hang-dump-type none \
		$(if $(FILTER),--filter "$(FILTER)")

chaos: deps-test build ## Fault-injection run: call load on 2 gateways with kill -9, SIGTERM, Redis/PostgreSQL restarts, FLUSHALL, a stalled PostgreSQL; checks every invariant (CHAOS_SECONDS, CHAOS_LONG=1, CHAOS_SEED, CHAOS_FAULTS; docs/chaos.md)
	dotnet tools/CommsCredits.Chaos/bin/$(CONFIGURATION)/net10.0/CommsCredits.Chaos.dll

bench: deps-test build ## Load generator: ceilings (redis-benchmark, pgbench), then full calls and Reserve alone against one gateway; prints throughput, percentiles, memory (BENCH_SECONDS=30, more in docs/scaling.md)
	dotnet tools/CommsCredits.Bench/bin/$(CONFIGURATION)/net10.0/CommsCredits.Bench.dll

# Always Release: BenchmarkDotNet refuses to measure unoptimized code. In process, because the separate process it
# would otherwise generate rebuilds the gateway with every analyzer, which takes longer than its 2-minute build timeout here.
microbench: ## BenchmarkDotNet micro-benchmarks of rating, gRPC framing and serialization (short job, a few minutes); prints ns and bytes allocated per operation (MICROBENCH_FILTER, docs/scaling.md)
	dotnet build tools/CommsCredits.MicroBench/CommsCredits.MicroBench.csproj -c Release
	dotnet tools/CommsCredits.MicroBench/bin/Release/net10.0/CommsCredits.MicroBench.dll \
		--filter '$(MICROBENCH_FILTER)' --job short --inProcess --memory --artifacts '$(LOCAL_DIR)/microbench'

export-bench: deps-runtime build ## Export EXPORT_ROWS (1,000,000) call records with `./commscredits usage export` from a stack of its own; prints rows/s and peak memory (docs/reports.md)
	CONFIGURATION=$(CONFIGURATION) scripts/export-bench.sh

clean: ## Delete build outputs (bin/, obj/, TestResults/); keeps the local stack's data
	find . \( -path ./.git -o -path ./.local -o -name node_modules \) -prune -o -type d \( -name bin -o -name obj \) -print -prune | xargs -r rm -rf
	rm -rf TestResults

clean-data: stop ## Stop everything and delete the local stack's data (LOCAL_DIR, default .local)
	rm -rf '$(LOCAL_DIR)'

deps-runtime:
	scripts/install-deps.sh runtime

deps-test:
	scripts/install-deps.sh test

stack-start: deps-runtime ## Start the local Redis and PostgreSQL only
	scripts/local-stack.sh start

stack-stop: ## Stop the local Redis and PostgreSQL only
	scripts/local-stack.sh stop

stack-status: ## Show whether the local Redis and PostgreSQL run
	scripts/local-stack.sh status
