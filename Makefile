VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GO_FILES = $(shell find . -name '*.go' -not -path './node_modules/*' -not -path './.git/*')

.PHONY: help generate css build run test test-docker lint bench check-generated

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
	CGO_ENABLED=1 go build -trimpath -tags 'netgo osusergo sqlite_omit_load_extension' \
	  -ldflags "-s -w -linkmode external -extldflags -static -X main.version=$(VERSION)" -o bin/refit ./cmd/refit

run:              ## run locally
	go run ./cmd/refit

test:             ## THE test command; real-engine tests run when REFIT_TEST_DOCKER_HOST is set (see .ci/run)
	go test -race -count=1 -timeout 15m ./...

test-docker:      ## make test against a private, throwaway Docker engine (needs root and docker.io)
	@set -e; d=$$(mktemp -d); \
	trap '.ci/dockerd stop "$$d"' EXIT; \
	host=$$(.ci/dockerd start "$$d"); \
	echo "engine: $$host"; \
	REFIT_TEST_DOCKER_HOST=$$host $(MAKE) --no-print-directory test

lint:             ## go vet + gofmt
	go vet ./...
	@out=$$(gofmt -l $(GO_FILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:            ## run every benchmark once (smoke)
	go test -run '^$$' -bench . -benchtime 1x ./...

check-generated: generate css ## fail if committed *_templ.go or app.css differ from a fresh generation
	git diff --exit-code -- '*_templ.go' static/css/app.css
	@out=$$(git status --porcelain -- '*_templ.go' static/css/app.css); \
	if [ -n "$$out" ]; then echo "generated files not committed:"; echo "$$out"; exit 1; fi
