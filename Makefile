VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# The commit time, not the build time: the same commit builds the same binary and image.
CREATED ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null | grep . || echo 1970-01-01T00:00:00Z)
# The org.opencontainers.image.source label: the origin remote without credentials; set SOURCE= for a release.
SOURCE ?= $(or $(shell git remote get-url origin 2>/dev/null | sed -E 's|//[^/@]*@|//|'),unknown)
IMAGE_ARCHES = amd64 arm64
# cgo's C compiler per image platform: this machine's own for its arch, Debian's cross gcc for the other.
HOST_ARCH := $(shell go env GOARCH)
CC_amd64 ?= $(if $(filter amd64,$(HOST_ARCH)),$(shell go env CC),x86_64-linux-gnu-gcc)
CC_arm64 ?= $(if $(filter arm64,$(HOST_ARCH)),$(shell go env CC),aarch64-linux-gnu-gcc)
# A static binary (SQLite through cgo, linked in); the Dockerfile and the image tests build with the same flags.
STATIC_BUILD = CGO_ENABLED=1 go build -trimpath -tags 'netgo osusergo sqlite_omit_load_extension' \
  -ldflags "-s -w -linkmode external -extldflags -static \
  -X main.version=$(VERSION) -X main.commit=$(REVISION) -X main.buildTime=$(CREATED)"
GO_FILES = $(shell find . -name '*.go' -not -path './node_modules/*' -not -path './.git/*')

.PHONY: help generate css build image push run test test-docker lint bench check-generated

help:             ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "%-18s %s\n", $$1, $$2}'

generate:         ## templ → *_templ.go (committed)
	go tool templ generate

# npm ci only when the lockfile is newer than the installed tree; building refit itself needs no node.
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

css: node_modules ## tailwind.config.js + static/css/input.css → static/css/app.css (committed)
	npx --no-install tailwindcss -c tailwind.config.js -i static/css/input.css -o static/css/app.css --minify

build: generate css ## static binary in bin/refit
	$(STATIC_BUILD) -o bin/refit ./cmd/refit

# No docker build and no base image: cmd/mkimage puts the static binaries, Debian's CA bundle and an empty /data into
# three layers. arm64 is cross-compiled with Debian's gcc-aarch64-linux-gnu (amd64 on an arm64 machine needs
# gcc-x86-64-linux-gnu).
define build_platform
	CC=$(CC_$(1)) GOOS=linux GOARCH=$(1) $(STATIC_BUILD) -o bin/linux-$(1)/refit ./cmd/refit

endef
image: generate css ## container image: bin/refit-image.tar (docker load, this machine) and bin/refit-oci (amd64+arm64)
	$(foreach a,$(IMAGE_ARCHES),$(call build_platform,$(a)))
	go run ./cmd/mkimage $(foreach a,$(IMAGE_ARCHES),-bin linux/$(a)=bin/linux-$(a)/refit) \
	  -version '$(VERSION)' -revision '$(REVISION)' -created '$(CREATED)' -source '$(SOURCE)' \
	  -tar bin/refit-image.tar -oci bin/refit-oci
	@ls -l bin/refit-image.tar

push:             ## push bin/refit-oci (make image) as IMAGE=registry/name:tag, with the Docker config's credentials
	@if [ -z "$(IMAGE)" ]; then echo "usage: make push IMAGE=registry/name:tag" >&2; exit 2; fi
	go run ./cmd/mkimage push -oci bin/refit-oci '$(IMAGE)'

run:              ## run locally
	go run ./cmd/refit

# .ci/gotest.go runs go test -json, prints what go test would, and ends with a line that counts the tests skipped for
# want of an engine, so a run without one cannot pass for a full one. Built first: `go run` would add its own last line.
test:             ## THE test command; real-engine tests run when REFIT_TEST_DOCKER_HOST is set (see .ci/run)
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	go build -o "$$d/gotest" .ci/gotest.go && "$$d/gotest" -race -count=1 -timeout 15m $(or $(PKGS),./...)

test-docker:      ## make test against a private, throwaway Docker engine (needs root and docker.io; ENGINE=29 for Docker 29)
	@set -e; d=$$(mktemp -d); \
	trap '.ci/dockerd stop "$$d"' EXIT; \
	if [ "$(ENGINE)" = 29 ]; then host=$$(.ci/engine29 start "$$d"); else host=$$(.ci/dockerd start "$$d"); fi; \
	echo "engine: $$host"; \
	REFIT_TEST_DOCKER_HOST=$$host $(MAKE) --no-print-directory test

lint:             ## go vet + gofmt
	go vet ./...
	@out=$$(gofmt -l $(GO_FILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Each package's TestBenchReport (gated by REFIT_BENCH) appends its markdown tables to REFIT_BENCH_OUT; make test runs
# their harnesses once, small, without timing anything.
bench:            ## check, API/page, update vs docker CLI, footprint vs their limits → docs/bench.md (about 6 min)
	@set -e; tmp=$$(mktemp -d); engine=""; \
	trap 'if [ -n "$$engine" ]; then .ci/dockerd stop "$$engine"; fi; rm -rf "$$tmp"' EXIT; \
	host=$${REFIT_TEST_DOCKER_HOST:-}; \
	if [ -z "$$host" ]; then engine=$$(mktemp -d); host=$$(.ci/dockerd start "$$engine"); fi; \
	echo "bench: engine $$host" >&2; \
	for pkg in ./services/ ./handlers/ ./cmd/refit/; do \
	  echo "bench: $$pkg" >&2; \
	  REFIT_TEST_DOCKER_HOST=$$host REFIT_BENCH=1 REFIT_BENCH_OUT=$$tmp/report.md \
	    go test -run '^TestBenchReport$$' -count=1 -timeout 15m -v $$pkg \
	    >$$tmp/log 2>&1 || { cat $$tmp/log; exit 1; }; \
	done; \
	{ echo "# refit benchmarks"; echo; \
	  echo "Generated by \`make bench\` (one run; rerun to refresh). Loopback traffic only."; echo; \
	  echo "- date: $$(date -u '+%Y-%m-%d %H:%M UTC')"; \
	  echo "- CPU: $$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $$(nproc) CPUs"; \
	  echo "- Go: $$(go version | cut -d' ' -f3-)"; \
	  echo "- commit: $(VERSION)"; echo; \
	  cat $$tmp/report.md; \
	} >docs/bench.md; \
	cat docs/bench.md

check-generated: generate css ## fail if committed *_templ.go or app.css differ from a fresh generation
	git diff --exit-code -- '*_templ.go' static/css/app.css
	@out=$$(git status --porcelain -- '*_templ.go' static/css/app.css); \
	if [ -n "$$out" ]; then echo "generated files not committed:"; echo "$$out"; exit 1; fi
