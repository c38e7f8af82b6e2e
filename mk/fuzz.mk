# fuzz.mk — the fuzz targets. CI runs them briefly (FUZZTIME=10s); run them
# longer by hand: make fuzz FUZZTIME=10m

FUZZTIME ?= 2m

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (config parser; loader on mutated ELF, root loads into the kernel)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	flock $(TESTLOCK) $(GO) test -run '^$$' -fuzz '^FuzzLoadObject$$' -fuzztime $(FUZZTIME) ./internal/loader
