# wasmoe — `make run` starts an edge node, `make test` builds the guests and runs every test.
GO       ?= go
BIN      := bin/wasmoe
GOFLAGS  ?=
FUZZTIME ?= 5s

.PHONY: all build run test guests guests-check guests-as guests-as-check vet fuzz-smoke bench clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./tools/wasmoe

run: build
	./$(BIN) serve --config wrangler.toml

# Rebuild every guest: the built-in ones (tokenizer, sampler, policy) and the Go conformance guest,
# the C SDK's examples and hostile test guests (installs clang and lld when missing), and the
# AssemblyScript example (npm ci).
guests: guests-c guests-as
	./internal/builtin/build.sh internal/builtin

# The committed guests must be exactly what their source builds.
guests-check: guests-c-check guests-as-check
	./internal/builtin/build.sh --check internal/builtin

guests-as:
	./guest/as/build.sh

guests-as-check:
	./guest/as/build.sh --check

include guest/c/guests.mk

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# A short run of every fuzz target; `make fuzz-smoke FUZZTIME=10m` for a real session.
fuzz-smoke:
	GO=$(GO) ./tools/fuzz-smoke.sh $(FUZZTIME)

# node and npm (apt, when missing) and the official openai npm client (npm ci) for the Node tests: the
# playground's script check (internal/edge) and TestOpenAIClient (tools/wasmoe). Under `make test` they
# fail, rather than skip, without them (WASMOE_REQUIRE_NODE).
.PHONY: openai-client
openai-client:
	./tools/openai-client/install.sh

test: export WASMOE_REQUIRE_NODE = 1
test: openai-client guests-check vet
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz-smoke

# Benchmarks: never part of `make test`. See BENCHMARKS.md for the figures and how they were taken.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/kernels/ ./internal/host/... ./guest/...
	./tools/bench/decode.sh
	SHAPE=deepseek-v2-lite ./tools/bench/decode.sh
	ROUNDS=3 ./tools/bench/quant.sh qwen2-1.5b Q4_K_M
	ROUNDS=3 ./tools/bench/quant.sh qwen2-1.5b q8_0
	ROUNDS=3 ./tools/bench/quant.sh deepseek-v2-lite Q4_K_M
	./tools/bench/serve.sh

clean:
	rm -rf bin
