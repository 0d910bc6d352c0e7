# faultline — non-recursive build. Sources are found by wildcard so that a new
# fault driver, test or tool is one new file and no Makefile edit.
# CPPFLAGS, CFLAGS and LDFLAGS from the environment (dpkg-buildflags:
# _FORTIFY_SOURCE, -fstack-protector-strong, -z relro, -z now) are used as
# given; the warning flags, the C standard and the include paths below are
# always added after them.
CC      ?= cc
BUILD   ?= build
VERSION := 0.1.0
# Install layout (`make install`, `make uninstall`; DESTDIR is honoured).
# The config stays under /etc whatever PREFIX is: both binaries read
# /etc/faultline/agent.ini by default. The unit goes where systemd looks for
# locally installed units; UNITDIR= (empty) leaves it out (the package
# installs it with dh_installsystemd).
PREFIX  ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/faultline
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions

PKGS    := libnl-3.0 libnl-route-3.0 libcap inih jansson libmicrohttpd gnutls libseccomp \
           libnftnl libmnl yaml-0.1
# Compiled against, never linked: each is dlopen'd at its first use
# (agent/engine/lazylib.h), so that neither an idle agent nor faultctl maps
# the TLS stack they bring.
LAZY_PKGS := libcurl libpq libmariadb
# The test tools (tests/lib) link them, first: the floors and helpers that
# bench and test against faultline use the libraries as any program would.
LAZY_LDLIBS := $(shell pkg-config --libs $(LAZY_PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wpointer-arith -Wcast-qual
CFLAGS  ?= -O2 -g
SAN     ?=
override CFLAGS += -std=c11 -D_GNU_SOURCE -DFL_VERSION=\"$(VERSION)\" $(WARN) $(SAN) \
           -Iagent/engine -Iagent -Ictl -MMD -MP \
           $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
# The thin faultctl (ctl/thin.c) links only what talking to an agent needs
# (libcurl comes at the first request, through lazy_curl.c); the engine's
# objects it uses (common, http, log, loop, store) need no more.
# faultctl-engine and faultlined link PKGS. --as-needed drops a library no
# object of the binary refers to.
CTL_PKGS := jansson
CTL_LDLIBS := $(shell pkg-config --libs $(CTL_PKGS) 2>/dev/null) -lm
ASNEEDED := -Wl,--as-needed
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
# faultctl: the client commands; what needs the engine in-process is
# exec'd from faultctl-engine (every ctl object but thin.c).
THIN_SRC   := ctl/faultctl.c ctl/ctl.c ctl/ctl_json.c ctl/completion.c \
	ctl/client.c ctl/cmd_query.c ctl/cmd_halt.c ctl/gameday.c ctl/live.c \
	ctl/output.c ctl/output_xml.c ctl/thin.c
THIN_OBJ   := $(THIN_SRC:%.c=$(BUILD)/%.o)
CTLENG_OBJ := $(filter-out $(BUILD)/ctl/thin.o,$(CTL_OBJ))
ENGINE_LIB := $(BUILD)/libfaultline-engine.a
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_BIN   := $(TOOL_SRC:tests/lib/%.c=$(BUILD)/tests/lib/%)

.PHONY: all check unit integration integration-san vm fuzz sanitize valgrind build-tests demo install uninstall deb pkgcheck bench deps clean
all: $(BUILD)/faultlined $(BUILD)/faultctl $(BUILD)/faultctl-engine

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(ENGINE_LIB): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/faultlined: $(AGENT_OBJ) $(ENGINE_LIB)
	$(CC) $(LDFLAGS) $(ASNEEDED) -o $@ $(AGENT_OBJ) $(ENGINE_LIB) $(LDLIBS)

$(BUILD)/faultctl: $(THIN_OBJ) $(ENGINE_LIB)
	$(CC) $(LDFLAGS) $(ASNEEDED) -o $@ $(THIN_OBJ) $(ENGINE_LIB) $(CTL_LDLIBS)

$(BUILD)/faultctl-engine: $(CTLENG_OBJ) $(ENGINE_LIB)
	$(CC) $(LDFLAGS) $(ASNEEDED) -o $@ $(CTLENG_OBJ) $(ENGINE_LIB) $(LDLIBS)

# Where faultctl looks for faultctl-engine last (ctl/thin.c; first next to
# itself, then at ../libexec/faultline from its own directory, which covers
# any PREFIX and DESTDIR of the default layout): the LIBEXECDIR of the build.
$(BUILD)/ctl/thin.o: CPPFLAGS += -DFL_LIBEXECDIR='"$(LIBEXECDIR)/faultline"'

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(ENGINE_LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/lib/%: $(BUILD)/tests/lib/%.o $(ENGINE_LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LAZY_LDLIBS) $(ENGINE_LIB) $(LDLIBS)

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

# `check` runs the integration tier once, against the ASan+UBSan build (the
# behaviour is the same; the sanitizers add memory and UB checks on every
# path the daemons take), beside the VM tier, which boots the plain -O2
# binaries; the package tier tests the hardened package build. `make
# integration` runs the tier against the plain build. The VM tier (qemu
# under TCG: about one core for 3 minutes) fits beside the integration
# tier, whose tests mostly wait on the processes they start. pkgcheck (the
# .deb: lintian, install/start/purge in a debootstrap root) comes last: its
# first run downloads a minimal Debian.
integration-san:
	$(MAKE) $(SANFLAGS) integration

check: deps
	$(MAKE) -j2 all build-tests
	$(MAKE) -j2 $(SANFLAGS) all build-tests
	$(MAKE) unit
	$(MAKE) $(SANFLAGS) unit
	$(MAKE) -j2 integration-san vm
	$(MAKE) fuzz
	$(MAKE) valgrind
	$(MAKE) pkgcheck
	@echo "check: all tiers passed"

demo:
	scripts/install-deps --build-only
	$(MAKE) all
	scripts/demo $(BUILD)

bench: all $(TOOL_BIN)
	bench/run $(BUILD)

# The Debian package, built the Debian way (debian/rules: dh, the flags of
# dpkg-buildflags, this Makefile with BUILD=build-deb). dpkg-buildpackage
# writes its output into the parent directory; it is moved to $(BUILD).
DEB_OUT := faultline_$(VERSION)_*.deb faultline-dbgsym_$(VERSION)_*.deb \
	faultline_$(VERSION)_*.buildinfo faultline_$(VERSION)_*.changes
deb:
	dpkg-buildpackage -us -uc -b
	@mkdir -p $(BUILD)
	@for f in $(addprefix ../,$(DEB_OUT)); do \
		[ -e "$$f" ] || continue; mv -f "$$f" $(BUILD)/; \
		echo "deb: moved $$f to $(BUILD)/"; done

# Packaging tier: lintian on the .deb, then install, start and purge it in a
# throwaway Debian 12 chroot (tests/pkg/run; root, network for debootstrap
# on the first run only).
pkgcheck: deb
	tests/pkg/run $(BUILD)

# Everything a user needs. An existing agent.ini is never overwritten; the
# unit's /usr paths follow SBINDIR/BINDIR.
install: all
	install -D -m 0755 $(BUILD)/faultlined $(DESTDIR)$(SBINDIR)/faultlined
	install -D -m 0755 $(BUILD)/faultctl $(DESTDIR)$(BINDIR)/faultctl
	install -D -m 0755 $(BUILD)/faultctl-engine \
	    $(DESTDIR)$(LIBEXECDIR)/faultline/faultctl-engine
ifneq ($(UNITDIR),)
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/sbin/faultlined|$(SBINDIR)/faultlined|g' \
	    -e 's|/usr/bin/faultctl|$(BINDIR)/faultctl|g' \
	    packaging/systemd/faultlined.service > $(DESTDIR)$(UNITDIR)/faultlined.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/faultlined.service
endif
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/faultline/experiments.d
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/faultline/agent.ini ]; then \
		echo "install: kept the existing $(DESTDIR)$(SYSCONFDIR)/faultline/agent.ini"; \
	else \
		echo "install -m 0644 packaging/agent.ini $(DESTDIR)$(SYSCONFDIR)/faultline/agent.ini"; \
		install -m 0644 packaging/agent.ini $(DESTDIR)$(SYSCONFDIR)/faultline/agent.ini; \
	fi
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 $(wildcard experiments/*.ini) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 packaging/man/faultctl.1 $(DESTDIR)$(MANDIR)/man1/faultctl.1
	install -D -m 0644 packaging/man/faultlined.8 $(DESTDIR)$(MANDIR)/man8/faultlined.8
	install -D -m 0644 packaging/completion/faultctl.bash $(DESTDIR)$(BASHCOMPDIR)/faultctl
	install -D -m 0644 packaging/completion/_faultctl $(DESTDIR)$(ZSHCOMPDIR)/_faultctl

# Removes exactly what install put there; agent.ini only if it is still the
# sample (an edited one stays, and uninstall says so).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/faultlined $(DESTDIR)$(BINDIR)/faultctl \
	    $(if $(UNITDIR),$(DESTDIR)$(UNITDIR)/faultlined.service) \
	    $(DESTDIR)$(MANDIR)/man1/faultctl.1 $(DESTDIR)$(MANDIR)/man8/faultlined.8 \
	    $(DESTDIR)$(BASHCOMPDIR)/faultctl
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_faultctl
	rm -f $(DESTDIR)$(LIBEXECDIR)/faultline/faultctl-engine
	rmdir $(DESTDIR)$(LIBEXECDIR)/faultline 2>/dev/null || :
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(wildcard experiments/*.ini))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,README.md $(notdir $(wildcard docs/*.md)))
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || :
	@f=$(DESTDIR)$(SYSCONFDIR)/faultline/agent.ini; \
	if [ -e "$$f" ] && ! cmp -s packaging/agent.ini "$$f"; then \
		echo "uninstall: kept $$f (it differs from the sample)"; \
	else rm -f "$$f"; fi
	rmdir $(DESTDIR)$(SYSCONFDIR)/faultline/experiments.d $(DESTDIR)$(SYSCONFDIR)/faultline 2>/dev/null || :

# `make -s print-VAR` prints a variable (tests/fuzz/run reads PKGS).
print-%:
	@echo $($*)

clean:
	rm -rf build build-san build-fuzz build-deb

# The dependency files of what this Makefile compiles (not a search of
# BUILD, which may hold other trees: tests/pkg/run's caches).
-include $(wildcard $(ENGINE_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) $(CTL_OBJ:.o=.d) \
	$(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) \
	$(TOOL_SRC:tests/lib/%.c=$(BUILD)/tests/lib/%.d))
