# lingerd — one Makefile, no generator. Each flavour builds in build/<flavour>/.
#   make            build build/release/lingerd (and ./lingerd, a link to it)
#   make run        build and serve www/ on http://127.0.0.1:8080/
#   make test       unit tests, black-box tests and the conformance corpus,
#                   then all of it again against an ASan+UBSan build
#   make install    PREFIX=/usr/local DESTDIR= SYSCONFDIR=/etc
#                   SYSTEMDUNITDIR=$(PREFIX)/lib/systemd/system
#   make docs       regenerate docs/directives.md, docs/man/lingerd.conf.5 and
#                   conf/lingerd.conf from the directive table

PREFIX   ?= /usr/local
DESTDIR  ?=
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CC       ?= cc
PYTHON   ?= /usr/bin/python3

WARN     := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wundef
CSTD     := -std=c17 -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
# OpenSSL 3 (libssl-dev) for TLS: the field's standard library, no home-made crypto.
# zlib (zlib1g-dev) for gzip on the fly: the format's reference implementation.
# nghttp2 (libnghttp2-dev) for HTTP/2: the field's standard framing and HPACK library.
LDLIBS   := -lssl -lcrypto -lcrypt -lz -lnghttp2 -pthread

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all

# src/ is grouped by layer, dependencies pointing down: proc, serve, proxy, conn,
# http2, http1, net, conf, core. Headers are included by name; each layer's folder is
# on the include path.
LAYERS   := proc serve proxy conn http2 http1 net conf core
INCLUDES := $(addprefix -Isrc/,$(LAYERS))
SRC      := $(sort $(wildcard src/*/*.c))
HDRS     := $(wildcard src/*/*.h)
LIB_SRC  := $(filter-out src/proc/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))


.SECONDEXPANSION:
.SECONDARY:

# $(call flavour_objs,FLAVOUR,SOURCES)
objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all run test install uninstall clean release asan unit deps build-deps docs
all: release
	@ln -sf build/release/lingerd lingerd

release: build/release/lingerd
asan: build/asan/lingerd

# Release flavour: the user's CFLAGS, warnings as warnings.
build/release/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP $(INCLUDES) -c $< -o $@

# Sanitizer flavour, also used by `make test` with -Werror.
build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(ASAN_FLAGS) $(EXTRA_CFLAGS) -MMD -MP $(INCLUDES) -c $< -o $@

build/%/liblingerd.a: $$(call objs,$$*,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

build/release/lingerd: build/release/src/proc/main.o build/release/liblingerd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/lingerd: build/asan/src/proc/main.o build/asan/liblingerd.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

build/release/tests/unit/%: build/release/tests/unit/%.o build/release/liblingerd.a
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

build/asan/tests/unit/%: build/asan/tests/unit/%.o build/asan/liblingerd.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ -lcmocka $(LDLIBS)

UNIT_BINS = $(patsubst tests/unit/%.c,build/$(1)/tests/unit/%,$(UNIT_SRC))

unit: $(call UNIT_BINS,release)

# As root (a fresh machine, CI) the workers would refuse to keep root: say
# so explicitly (-R) for this local development server.
run: build-deps
	@$(MAKE) --no-print-directory all
	./build/release/lingerd -l 127.0.0.1 -p 8080 -r www $$( [ "$$(id -u)" = 0 ] && echo -R )

deps:
	@sh tests/deps.sh

build-deps:
	@sh tests/deps.sh --build

# -Werror in test builds only (new compilers add warnings; users' builds go on).
# Everything test needs is built in one parallel pass (one job per core).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) EXTRA_CFLAGS=-Werror build/release/lingerd \
		build/asan/lingerd $(call UNIT_BINS,release) $(call UNIT_BINS,asan) \
		fuzz-regress-build
	@PYTHON=$(PYTHON) sh tests/run-all.sh

# The commented defaults go to $(SYSCONFDIR)/lingerd/lingerd.conf as a
# starting point, unless a file is there already (the operator's).
install: build/release/lingerd
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/doc/lingerd/examples \
		$(DESTDIR)$(SYSCONFDIR)/lingerd $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 build/release/lingerd $(DESTDIR)$(PREFIX)/sbin/lingerd
	install -m 644 docs/man/lingerd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 docs/man/lingerd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/lingerd/
	install -m 644 conf/lingerd.conf conf/upload-site.conf conf/htpasswd.example \
		conf/logrotate $(DESTDIR)$(PREFIX)/share/doc/lingerd/examples/
	[ -e $(DESTDIR)$(SYSCONFDIR)/lingerd/lingerd.conf ] || \
		install -m 644 conf/lingerd.conf $(DESTDIR)$(SYSCONFDIR)/lingerd/lingerd.conf
	sed 's|/usr/local/sbin/lingerd|$(PREFIX)/sbin/lingerd|' contrib/lingerd.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/lingerd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/lingerd.service
	install -m 644 contrib/lingerd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/

# Keeps $(SYSCONFDIR)/lingerd/lingerd.conf: it may hold the operator's edits.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/lingerd $(DESTDIR)$(PREFIX)/share/man/man8/lingerd.8 \
		$(DESTDIR)$(PREFIX)/share/man/man5/lingerd.conf.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/lingerd.service $(DESTDIR)$(SYSTEMDUNITDIR)/lingerd.socket
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/lingerd

# Files generated from the directive table in src/conf/config_table.c; the unit tests
# fail when one of them and the table differ.
build/release/tools/gen_reference: build/release/tools/gen_reference.o build/release/liblingerd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

docs: build/release/tools/gen_reference
	$< markdown > docs/directives.md.tmp && mv docs/directives.md.tmp docs/directives.md
	$< man > docs/man/lingerd.conf.5.tmp && mv docs/man/lingerd.conf.5.tmp docs/man/lingerd.conf.5
	$< conf > conf/lingerd.conf.tmp && mv conf/lingerd.conf.tmp conf/lingerd.conf

clean:
	rm -rf build lingerd

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- fuzz / soak / memcheck (issue 10) --------------------------------------
#   make fuzz           each libFuzzer target for FUZZ_SECONDS (clang); new
#                       inputs go to build/fuzz/corpus/, crashes to build/fuzz/
#   make fuzz-regress   every corpus file through every target once (any CC,
#                       ASan+UBSan), and the parser-vs-server differential;
#                       part of `make test`
#   make soak           SOAK_SECONDS of mixed good and hostile clients against
#                       one server: RSS and fd series, every answer checked
#   make memcheck       a short black-box run under valgrind --tool=memcheck
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
FUZZ_TARGETS := http1 chunked range config htpasswd tls_sniff tls_name host accept_encoding \
                proxy_protocol response http2
# The modules each target links: the pure one it tests; config's directive
# table reaches into other modules (checks, defaults), so it takes them all.
FUZZ_SRC_http1    := src/http1/http1.c src/http1/http1_fields.c src/http1/http1_chunked.c
FUZZ_SRC_chunked  := src/http1/http1_chunked.c
FUZZ_SRC_range    := src/serve/range.c
FUZZ_SRC_config   := $(LIB_SRC)
FUZZ_SRC_htpasswd := src/serve/auth.c src/serve/auth_users.c
FUZZ_SRC_tls_sniff := src/net/tls_sniff.c
FUZZ_SRC_tls_name  := $(LIB_SRC)
FUZZ_SRC_host      := src/serve/vhost.c
FUZZ_SRC_accept_encoding := src/serve/accept_encoding.c
FUZZ_SRC_proxy_protocol := src/net/proxy_protocol.c
FUZZ_SRC_response  := src/proxy/proxy_response.c src/http1/http1.c src/http1/http1_fields.c \
                      src/http1/http1_chunked.c
FUZZ_SRC_http2     := src/http2/http2_head.c src/http1/http1.c src/http1/http1_fields.c \
                      src/http1/http1_chunked.c
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all

.PHONY: fuzz fuzz-build fuzz-regress fuzz-regress-build soak memcheck

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $$(FUZZ_SRC_$$*) $$(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -Werror $(INCLUDES) -Itests/fuzz -o $@ $< \
		$(FUZZ_SRC_$*) $(LDLIBS)

# The regression flavour: the same targets with a plain main (driver.c).
build/fuzz-regress/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c tests/fuzz/fuzz.h \
		$$(FUZZ_SRC_$$*) $$(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(ASAN_FLAGS) -Werror $(INCLUDES) -Itests/fuzz -o $@ $< \
		tests/fuzz/driver.c $(FUZZ_SRC_$*) $(LDLIBS)

# From sources, not build/asan/liblingerd.a: built as a prerequisite of
# `make test`, it must not build those objects before test's -Werror pass does.
build/fuzz-regress/verdict: tests/fuzz/verdict.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(ASAN_FLAGS) -Werror $(INCLUDES) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz-build: $(foreach t,$(FUZZ_TARGETS),build/fuzz/fuzz_$(t))

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run-fuzz.sh $(FUZZ_TARGETS)

fuzz-regress-build: $(foreach t,$(FUZZ_TARGETS),build/fuzz-regress/fuzz_$(t)) \
		build/fuzz-regress/verdict

fuzz-regress: fuzz-regress-build build/release/lingerd
	@PYTHON=$(PYTHON) sh tests/fuzz/regress.sh $(FUZZ_TARGETS)

# make test runs tests/fuzz/regress.sh from tests/run-all.sh; its recipe
# builds fuzz-regress-build in the same -Werror pass as the servers.

soak: build/release/lingerd build/asan/lingerd
	@SOAK_SECONDS=$(SOAK_SECONDS) $(PYTHON) tests/soak/soak.py

memcheck: build/release/lingerd
	@PYTHON=$(PYTHON) sh tests/soak/memcheck.sh
