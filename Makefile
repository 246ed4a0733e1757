# moderator: `make run` builds everything and moderates with the default config;
# `make test` runs the whole test suite.

GO        ?= go
BIN       := $(CURDIR)/bin
PLUGINS   := $(BIN)/plugins
TOOLS     := $(BIN)/tools
MODULE    := github.com/moderatorbot/moderator
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X $(MODULE)/core/cli.version=$(VERSION)

# Plugin binaries: bin/plugins/<name> from the package that provides it.
PLUGIN_PKGS := shouting=./examples/shouting

# Pinned generator versions for `make proto`, installed into bin/tools.
BUF_VERSION                := v1.50.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
VTPROTO_VERSION            := v0.6.0

.PHONY: all build run test test-short bench fuzz proto vet fmt clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/moderator ./core/cmd/moderator
	@mkdir -p $(PLUGINS)
	@set -e; for p in $(PLUGIN_PKGS); do \
		name=$${p%%=*}; pkg=$${p#*=}; \
		echo "$(GO) build -o $(PLUGINS)/$$name $$pkg"; \
		$(GO) build -o $(PLUGINS)/$$name $$pkg; \
	done

run: build
	$(BIN)/moderator run --config moderator.toml

# The whole suite, with the race detector, plus short fuzz smokes.
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) fuzz FUZZTIME=5s

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

FUZZTIME ?= 2m
fuzz:
	$(GO) test ./core/config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./core/pluginhost/ ./core/cli/

proto: $(TOOLS)/buf-$(BUF_VERSION) $(TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) $(TOOLS)/protoc-gen-go-vtproto-$(VTPROTO_VERSION)
	cd sdk/proto && PATH=$(TOOLS):$$PATH buf lint . && PATH=$(TOOLS):$$PATH buf generate .

$(TOOLS)/buf-%:
	GOBIN=$(TOOLS) $(GO) install github.com/bufbuild/buf/cmd/buf@$*
	@touch $@
$(TOOLS)/protoc-gen-go-%:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$*
	@touch $@
$(TOOLS)/protoc-gen-go-vtproto-%:
	GOBIN=$(TOOLS) $(GO) install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@$*
	@touch $@
$(TOOLS)/protoc-gen-go-grpc-%:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$*
	@touch $@

clean:
	rm -rf $(BIN)
