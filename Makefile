# The two commands: `make dev` serves every route on http://127.0.0.1:3000; `make test` runs every test.
.PHONY: dev test fuzz load token seed measure-reads bench lint fmt clean help
.DEFAULT_GOAL := help

help:
	@echo "make dev                                  DynamoDB Local + every route on http://127.0.0.1:\$${PORT:-3000} (Ctrl-C stops)"
	@echo "make test                                 all tests against a fresh DynamoDB Local"
	@echo "make token ROLES=a,b USER=name ORG=org    a bearer token the local server accepts (ORG: a customer's organization)"
	@echo "make seed                                 demo data into the tables of a running make dev"
	@echo "make measure-reads LOGS=10000             read capacity of each system-logs request at that many logs"
	@echo "make bench                                every function measured side by side: BENCHMARKS.md, bench/results.json"
	@echo "make fuzz                                 Schemathesis against every route, 100 examples per operation and role"
	@echo "make load                                 32 clients, 20,000 POSTs with lists, then DynamoDB Local stopped and restarted"
	@echo "make lint                                 fmt, clippy, cfn-lint and sam validate --lint"

dev:
	@bash scripts/dev.sh

test:
	@bash scripts/test.sh

fuzz:
	@bash scripts/fuzz.sh

load:
	@bash scripts/load.sh

# USER is the login name in most shells; only an explicit `make token USER=...` overrides it.
token:
	@USER_NAME="$(if $(filter command line,$(origin USER)),$(USER),developer)" ROLES="$(ROLES)" ORG="$(ORG)" bash scripts/token.sh

seed:
	@bash scripts/seed.sh

measure-reads:
	@LOGS="$(LOGS)" bash scripts/measure-reads.sh

bench:
	@bash scripts/bench.sh

lint:
	@bash scripts/lint.sh

fmt:
	cargo fmt --all

clean:
	rm -rf target .local/dynamodb-data
