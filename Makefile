# faultline — non-recursive build. Sources are found by wildcard so that a new
# fault driver, test or tool is one new file and no Makefile edit.
CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0

PKGS    := libnl-3.0 libnl-route-3.0 libcap libcurl inih jansson libmicrohttpd libpq gnutls libseccomp \
           libnftnl libmnl libsystemd yaml-0.1 libmariadb
WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wpointer-arith -Wcast-qual
CFLAGS  ?= -O2 -g
SAN     ?=
override CFLAGS += -std=c11 -D_GNU_SOURCE -DFL_VERSION=\"$(VERSION)\" $(WARN) $(SAN) \
           -Iagent/engine -Iagent -Ictl -MMD -MP \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
LDFLAGS += $(SAN)

ENGINE_SRC := $(sort $(wildcard agent/engine/*.c agent/engine/faults/*.c))
AGENT_SRC  := $(sort $(wildcard agent/*.c))
CTL_SRC    := $(sort $(wildcard ctl/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC   := $(sort $(wildcard tests/lib/*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
ENGINE_LIB := $(BUILD)/libfaultline-engine.a
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_BIN   := $(TOOL_SRC:tests/lib/%.c=$(BUILD)/tests/lib/%)

.PHONY: all check unit integration vm fuzz sanitize valgrind build-tests demo install deb bench deps clean
all: $(BUILD)/faultlined $(BUILD)/faultctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(ENGINE_LIB): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/faultlined: $(AGENT_OBJ) $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(AGENT_OBJ) $(ENGINE_LIB) $(LDLIBS)

$(BUILD)/faultctl: $(CTL_OBJ) $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) $(ENGINE_LIB) $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(ENGINE_LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/lib/%: $(BUILD)/tests/lib/%.o $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(ENGINE_LIB) $(LDLIBS)

# Tiers (DESIGN.md section 8). `check` installs what it needs first.
deps:
	scripts/install-deps

unit: $(UNIT_BIN) $(TOOL_BIN)
	tests/run-unit $(BUILD)

integration: all $(TOOL_BIN)
	tests/run-integration $(BUILD)

vm: all $(TOOL_BIN)
	tests/vm/run $(BUILD)

fuzz:
	tests/fuzz/run

valgrind: $(UNIT_BIN) $(TOOL_BIN)
	tests/run-valgrind $(BUILD)

# The sanitizer pass rebuilds everything in its own tree and runs the unit
# and integration tiers again under ASan+UBSan.
SANFLAGS := BUILD=build-san CFLAGS="-O1 -g" \
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
sanitize:
	$(MAKE) -j2 $(SANFLAGS) all build-tests
	$(MAKE) $(SANFLAGS) unit
	$(MAKE) $(SANFLAGS) integration

build-tests: $(UNIT_BIN) $(TOOL_BIN)

check: deps
	$(MAKE) -j2 all build-tests
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) vm
	$(MAKE) fuzz
	$(MAKE) sanitize
	$(MAKE) valgrind
	@echo "check: all tiers passed"

demo:
	scripts/install-deps --build-only
	$(MAKE) all
	scripts/demo $(BUILD)

bench: all $(TOOL_BIN)
	bench/run $(BUILD)

deb: all
	packaging/deb/build $(BUILD) $(VERSION)

install: all
	install -D -m 0755 $(BUILD)/faultlined $(DESTDIR)$(PREFIX)/sbin/faultlined
	install -D -m 0755 $(BUILD)/faultctl $(DESTDIR)$(PREFIX)/bin/faultctl

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
