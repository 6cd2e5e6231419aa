# isol - one non-recursive Makefile. Objects and binaries go under build/.
#   make            build build/isolagent and build/isolctl
#   make test       install missing deps, unit tests (ASan+UBSan), netns tests
#   make demo       install missing deps, run the demo in a private network namespace
#   make bench      performance figures beside their baselines
#   make install    PREFIX=/usr/local DESTDIR=
# V=1 shows full commands.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
VERSION := 0.1.0

PKGS := libmnl libnftnl libnl-route-3.0 jansson libnetfilter_conntrack yaml-0.1 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -pthread
CTL_LIBS := $(shell pkg-config --libs jansson 2>/dev/null)
# isolctl is linked statically: a process that starts without the dynamic
# loader is ~0.5 ms faster, and isolctl runs once per command at 3 a.m.
CTL_STATIC := -static

WARN := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wpointer-arith \
	-Wcast-qual -Wwrite-strings -Wformat=2 -Wundef -Wno-unused-parameter
ifneq ($(CI),)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -Iinclude -Iagent $(PKG_CFLAGS) -DISOL_VERSION='"$(VERSION)"' \
	-D_GNU_SOURCE -MMD -MP
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard lib/*.c)
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
CTL_SRC := $(wildcard ctl/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/%.o)
# sanitized copies for the unit tests
SLIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
SAGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/san/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

all: $(BUILD)/isolagent $(BUILD)/isolctl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC san  $<")
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

$(BUILD)/libisol.a: $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^
$(BUILD)/libagent.a: $(AGENT_OBJ)
	$(Q)$(AR) rcs $@ $^
$(BUILD)/san/libisol.a: $(SLIB_OBJ)
	$(Q)$(AR) rcs $@ $^
$(BUILD)/san/libagent.a: $(SAGENT_OBJ)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/isolagent: $(BUILD)/agent/main.o $(BUILD)/libagent.a $(BUILD)/libisol.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/isolctl: $(CTL_OBJ) $(BUILD)/libisol.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(CTL_STATIC) -o $@ $^ $(CTL_LIBS)

# unit tests: ASan+UBSan, linked against the sanitized libraries and cmocka;
# test_ctl_X also compiles ctl/ctl_X.c, and is rebuilt when it changes
unit_ctl_src = $(wildcard $(patsubst $(BUILD)/tests/test_%,ctl/%.c,$(1)))
$(foreach t,$(UNIT_BIN),$(if $(call unit_ctl_src,$(t)),$(eval $(t): $(call unit_ctl_src,$(t)))))
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/san/libagent.a $(BUILD)/san/libisol.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN) -Ictl -o $@ $< $(call unit_ctl_src,$@) \
		$(BUILD)/san/libagent.a $(BUILD)/san/libisol.a $(PKG_LIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -lpthread

# ctkill drives the agent's conntrack module (tests/netns/test_conntrack.sh)
$(BUILD)/tools/ctkill: tests/tools/ctkill.c $(BUILD)/libagent.a $(BUILD)/libisol.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# probectl drives the agent's probe module (tests/netns/test_probe.sh)
$(BUILD)/tools/probectl: tests/tools/probectl.c $(BUILD)/libagent.a $(BUILD)/libisol.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

tools: $(TOOL_BIN)
units: $(UNIT_BIN)

# Dependencies: install what is missing (Debian), then build. The recursive
# call re-reads pkg-config after an install.
deps:
	$(Q)scripts/install-deps.sh --if-missing

test: deps
	$(Q)$(MAKE) --no-print-directory all units tools
	$(Q)tests/run.sh

unit: deps
	$(Q)$(MAKE) --no-print-directory units
	$(Q)tests/run.sh --unit-only

demo: deps
	$(Q)$(MAKE) --no-print-directory all tools
	$(Q)scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all tools
	$(Q)tests/bench/run.sh
	$(Q)tests/bench/prober.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/isolagent $(DESTDIR)$(PREFIX)/sbin/isolagent
	install -m 0755 $(BUILD)/isolctl $(DESTDIR)$(PREFIX)/bin/isolctl
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local|$(PREFIX)|g' scripts/isolagent.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/isolagent.service
	install -d $(DESTDIR)$(PREFIX)/share/doc/isol/policies
	install -m 0644 policies/*.yaml $(DESTDIR)$(PREFIX)/share/doc/isol/policies/

format:
	clang-format -i $(LIB_SRC) $(AGENT_SRC) agent/main.c $(CTL_SRC) include/isol/*.h agent/*.h

clean:
	rm -rf $(BUILD)

.PHONY: all deps test unit demo bench install format clean tools units
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# libFuzzer harnesses (clang): make fuzz, then e.g. build/fuzz/fuzz_target -max_total_time=60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(LIB_SRC) $(CTL_LIBS)
# the policy loader: its two agent sources and libyaml
$(BUILD)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(LIB_SRC) agent/policy.c agent/policy_parse.c
	@mkdir -p $(dir $@)
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Iagent -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(LIB_SRC) agent/policy.c agent/policy_parse.c $(CTL_LIBS) \
		$(shell pkg-config --libs yaml-0.1)
.PHONY: fuzz
