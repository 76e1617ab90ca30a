# orosync — the front door. `make demo` runs the pipeline on realistic data; `make test` runs every test.
# Both install and start what they need (PostgreSQL; the tests embed NATS).

GO           ?= go
MODULES      := events fidelity contracts oro orosim mercatodb services/poller services/transformer services/writer services/reconciler cmd/orosync e2e/mercato
PKGS         := $(addprefix ./,$(addsuffix /...,$(MODULES)))
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
NATSCLI      := github.com/nats-io/natscli/nats@v0.5.0
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/orosync_demo?sslmode=disable

.PHONY: demo test cluster-test bench chaos gen lint migrate services fuzz nats-cli build clean mercato-e2e mercato-module-test

## demo: fresh database, simulator with a whole CRM around 5,000 contacts, the whole pipeline until caught up, then
## a table of what landed where
demo: services
	$(GO) run ./cmd/orosync demo

## test: every module's tests against a real PostgreSQL and real (embedded) NATS
test: services
	$(GO) test -count=1 -timeout 15m $(PKGS)

## cluster-test: the cluster's leader-kill test at acceptance size: three Debian nats-server processes, every
## service as its own NATS user, ORO_RAW's leader killed mid-sync of 100,000 contacts, Mercato checked against Oro
## record by record (make test runs it with 3,000)
cluster-test: services
	$(GO) test -count=1 -timeout 45m -run 'TestKillingTheStreamLeaderMidSync' -v ./cmd/orosync/ -args -cluster.contacts 100000

## bench: benchmarks of every module (BenchmarkFreshness: the delay from an Oro edit to Mercato's event, polling
## and webhooks), then the acceptance sizes of tests that default to smaller ones (-long: the poller's kill -9 test
## on 100,000 contacts and its initial sync of 1,000,000 contacts; the replay with a changed mapping on 100,000
## contacts; the reconciler deleting 1 % of 100,000 contacts; the end-to-end replay of 1,000,000 contacts); last,
## one table of every figure README.md states, each as a ratio to its anchor in the same run (cmd/orosync/internal/
## benchtable, from what the benchmarks printed, kept in BENCH_LOG)
BENCH_LOG    ?= .data/bench.txt
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -c
bench: services
	mkdir -p $(dir $(BENCH_LOG)) && : > $(BENCH_LOG)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS) | tee -a $(BENCH_LOG)
	$(GO) test -count=1 -timeout 20m -run 'TestKilledPoller' ./services/poller/service/ -args -long | tee -a $(BENCH_LOG)
	$(GO) test -count=1 -timeout 40m -run '^$$' -bench 'InitialSyncOfAMillionContacts' -benchtime 1x ./services/poller/service/ -args -long | tee -a $(BENCH_LOG)
	$(GO) test -count=1 -timeout 45m -run 'TestReplayWithAChangedMappingConvergesMercatoToIt' -v ./cmd/orosync/ -args -long | tee -a $(BENCH_LOG)
	$(GO) test -count=1 -timeout 40m -run 'TestDeletingOnePercentOfContacts' ./cmd/orosync/ -args -long | tee -a $(BENCH_LOG)
	$(GO) test -count=1 -timeout 3h -run '^$$' -bench 'BenchmarkEndToEndReplay' -benchtime 1x ./cmd/orosync/ -args -long | tee -a $(BENCH_LOG)
	$(GO) run ./cmd/orosync/internal/benchtable $(BENCH_LOG)

## chaos: every service in a process of its own against the system's nats-server, one killed with SIGKILL and
## restarted every few seconds (20 rounds) while Oro edits, deletes and creates contacts during a 100,000-contact
## sync; then every Oro contact must equal its Mercato person by checksum. Not part of test. CHAOS_ARGS passes
## flags, e.g. CHAOS_ARGS="-chaos.contacts=20000 -chaos.rounds=10".
chaos: services
	$(GO) test -tags chaos -count=1 -timeout 2h -v -run '^TestServicesKilledAtRandomDuringASyncLeaveMercatoEqualToOro$$' ./cmd/orosync/ -args $(CHAOS_ARGS)

## mercato-e2e: a real Open Mercato 0.6.7 with the sync_orocrm module (set up under ~/.cache/orosync-mercato on
## the first run: MERCATO_SRC, a tarball or checkout, defaults to ../shared/mercato's), orosync and the simulator
## synced into it, checked through Mercato's HTTP API (scripts/mercato-e2e/run.sh, e2e/mercato). Not part of test.
mercato-e2e: services
	./scripts/mercato-e2e/run.sh

## mercato-module-test: the Mercato module's own tests (vitest, a real nats-server), with Mercato's Node
mercato-module-test:
	./scripts/mercato-e2e/module-test.sh

## fuzz: a short run of every fuzz target (the corpus under testdata/fuzz is kept)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime 30s ./oro/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAudits$$' -fuzztime 30s ./oro/
	$(GO) test -run '^$$' -fuzz '^FuzzFastParseAgreesWithTheReference$$' -fuzztime 30s ./oro/
	$(GO) test -run '^$$' -fuzz '^FuzzIsolateTooDeep$$' -fuzztime 30s ./oro/
	$(GO) test -run '^$$' -fuzz '^FuzzFastHashesEqualTheReference$$' -fuzztime 30s ./events/
	$(GO) test -run '^$$' -fuzz '^FuzzRawRecordAppendJSONIsJSONMarshal$$' -fuzztime 30s ./events/
	$(GO) test -run '^$$' -fuzz '^FuzzURLNeverShowsThePassword$$' -fuzztime 30s ./events/redact/
	$(GO) test -run '^$$' -fuzz '^FuzzMapContact$$' -fuzztime 30s ./services/transformer/domain/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDocumentAndMap$$' -fuzztime 30s ./services/transformer/domain/
	$(GO) test -run '^$$' -fuzz '^FuzzFastPathAgreesWithMap$$' -fuzztime 30s ./services/transformer/domain/
	$(GO) test -run '^$$' -fuzz '^FuzzChangeDecodersAgree$$' -fuzztime 30s ./services/writer/ports/
	$(GO) test -run '^$$' -fuzz '^FuzzPersonSnapshotJSONIsWhatEncodingJSONWrites$$' -fuzztime 30s ./services/writer/adapters/rowkit/
	$(GO) test -run '^$$' -fuzz '^FuzzPersonSnapshotDecodingIsWhatEncodingJSONReads$$' -fuzztime 30s ./services/writer/adapters/rowkit/
	$(GO) test -run '^$$' -fuzz '^FuzzDerivedIDsFollowTheDocumentedLayout$$' -fuzztime 30s ./services/writer/adapters/rowkit/
	$(GO) test -run '^$$' -fuzz '^FuzzEventRowsAreTheBytesOfTheReflectionBuiltOnes$$' -fuzztime 30s ./services/writer/adapters/rowkit/
	$(GO) test -run '^$$' -fuzz '^FuzzRelayHeadersAreWhatTheJSONDecoderReads$$' -fuzztime 30s ./services/writer/relay/
	$(GO) test -run '^$$' -fuzz '^FuzzCustomFieldValuesSetExactlyOneColumn$$' -fuzztime 30s ./services/writer/domain/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFilters$$' -fuzztime 30s ./orosim/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifySignature$$' -fuzztime 30s ./services/poller/app/
	$(GO) test -run '^$$' -fuzz '^FuzzWebhookReceiver$$' -fuzztime 30s ./services/poller/adapters/
	$(GO) test -run '^$$' -fuzz '^FuzzGraceState$$' -fuzztime 30s ./services/reconciler/domain/

## gen: go-jet models from a scratch database migrated with both migration sets
gen: services
	cd mercatodb && ./gen.sh

## migrate: orosync's own tables on DATABASE_URL (add ARGS=--with-mercato-schema for a dev/test database)
migrate: services
	$(GO) run ./cmd/orosync migrate $(ARGS)

## lint: gofmt, go vet and staticcheck on every module; cmd/orosync reaches services only through services/*/service
## (scripts/check-layers.sh), and that check refuses a forbidden import (scripts/check-layers-test.sh)
lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	$(GO) vet -tags mercatoe2e ./e2e/mercato/
	$(GO) run $(STATICCHECK) -tags mercatoe2e ./e2e/mercato/
	$(GO) vet -tags chaos ./cmd/orosync/
	$(GO) run $(STATICCHECK) -tags chaos ./cmd/orosync/
	./scripts/check-layers.sh
	./scripts/check-layers-test.sh

## services: make sure PostgreSQL is installed and running (installs it with apt-get when missing)
services:
	@./scripts/ensure-services.sh

## nats-cli: install the nats CLI used in the runbook
nats-cli:
	$(GO) install $(NATSCLI)

build:
	$(GO) build -o bin/orosync ./cmd/orosync

clean:
	rm -rf bin .data
