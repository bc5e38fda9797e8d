# okvm — the two commands a fresh machine needs are `make run` (the main job)
# and `make test` (everything, against the real components).

GO        ?= go
FUZZTIME  ?= 15s
TESTFLAGS ?= -timeout 45m
# `make test` must never go green by skipping: missing lab parts fail tests.
export OKVM_REQUIRE_LAB ?= 1

.PHONY: all run test unit vet lab lab-stop lab-status fuzz verify-names bench

all: test

## run: the main job — the full cluster lifecycle on in-memory fakes.
run:
	$(GO) run ./examples/cluster

## test: start the lab (installs what is missing), vet, all tests, fuzzers, guest name proof.
test: lab vet
	$(GO) test $(TESTFLAGS) ./...
	scripts/fuzz.sh $(FUZZTIME)
	$(MAKE) verify-names

## unit: the tests that need nothing but Go (integration tests skip).
unit:
	OKVM_REQUIRE_LAB=0 $(GO) test ./...

vet:
	$(GO) vet ./...

lab:
	scripts/lab.sh start

lab-stop:
	scripts/lab.sh stop

lab-status:
	scripts/lab.sh status

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## verify-names: boot tiny guests under TCG and compare udev's names with okvm's prediction.
verify-names: lab
	scripts/verify-names.sh

## bench: the benchmarks recorded in BENCHMARKS.md.
bench: lab
	$(GO) test -run '^$$' -bench . -benchmem ./...
