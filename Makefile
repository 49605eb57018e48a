# siemfwd — `make help` lists the targets.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
FUZZTIME ?= 5s
CONFIG   ?=

.PHONY: help build run test test-unit fuzz bench golden check-config tidy up down testenv-up testenv-down package cross rules

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/siemfwd and bin/loadgen
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/siemfwd ./cmd/siemfwd
	$(GO) build -o bin/loadgen ./cmd/loadgen

run: build ## run siemfwd on the embedded default config (or CONFIG=file): syslog on 127.0.0.1:5514, ECS JSON on stdout
	bin/siemfwd run $(if $(CONFIG),-c $(CONFIG))

test: ## start the test services, run every test with -race, a short fuzz run of every target, stop the services
	scripts/test.sh

test-unit: ## run the tests that need no external service
	$(GO) test -race -shuffle=on ./...

package: ## build the .deb and .rpm packages (binary, /etc/siemfwd/siemfwd.yaml, systemd unit) into dist/ with the pinned nfpm
	scripts/package.sh dist

cross: ## check that siemfwd builds for macOS and Windows (development only; Linux is the production platform)
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...

fuzz: ## run every fuzz target for FUZZTIME each
	scripts/fuzz.sh $(FUZZTIME)

bench: ## run the Go benchmarks 10 times into bench.txt (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count=10 ./... | tee bench.txt

golden: ## rewrite golden files from the current output
	$(GO) test ./... -run Golden -update

rules: ## validate the Sigma rules in rules/ and regenerate rules/dist (pinned pySigma in .cache/)
	"$$(scripts/rules-env.sh)/bin/python" rules/build.py

check-config: build ## validate CONFIG (default: the embedded config)
	bin/siemfwd validate $(if $(CONFIG),-c $(CONFIG))

tidy: ## go mod tidy and gofmt
	$(GO) mod tidy
	gofmt -w $$(git ls-files '*.go')

up: ## docker compose up (for users with Docker); writes a random admin token to .admin-token first
	test -s .admin-token || (umask 077 && head -c 32 /dev/urandom | base64 > .admin-token)
	docker compose up -d

down: ## docker compose down
	docker compose down
