# lingerd — one Makefile, no generator. Each flavour builds in build/<flavour>/.
#   make            build build/release/lingerd (and ./lingerd, a link to it)
#   make run        build and serve www/ on http://127.0.0.1:8080/
#   make test       unit tests, black-box tests and the conformance corpus,
#                   then all of it again against an ASan+UBSan build
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PYTHON   ?= /usr/bin/python3

WARN     := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wundef
CSTD     := -std=c17 -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
LDLIBS   := -lcrypt

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all

SRC      := $(sort $(wildcard src/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))


.SECONDEXPANSION:
.SECONDARY:

# $(call flavour_objs,FLAVOUR,SOURCES)
objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all run test install uninstall clean release asan unit deps
all: release
	@ln -sf build/release/lingerd lingerd

release: build/release/lingerd
asan: build/asan/lingerd

# Release flavour: the user's CFLAGS, warnings as warnings.
build/release/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP -Isrc -c $< -o $@

# Sanitizer flavour, also used by `make test` with -Werror.
build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(ASAN_FLAGS) $(EXTRA_CFLAGS) -MMD -MP -Isrc -c $< -o $@

build/%/liblingerd.a: $$(call objs,$$*,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

build/release/lingerd: build/release/src/main.o build/release/liblingerd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/lingerd: build/asan/src/main.o build/asan/liblingerd.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

build/release/tests/unit/%: build/release/tests/unit/%.o build/release/liblingerd.a
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

build/asan/tests/unit/%: build/asan/tests/unit/%.o build/asan/liblingerd.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ -lcmocka $(LDLIBS)

UNIT_BINS = $(patsubst tests/unit/%.c,build/$(1)/tests/unit/%,$(UNIT_SRC))

unit: $(call UNIT_BINS,release)

run: all
	./build/release/lingerd -l 127.0.0.1 -p 8080 -r www

deps:
	@sh tests/deps.sh

# -Werror in test builds only (new compilers add warnings; users' builds go on).
test: deps
	@$(MAKE) --no-print-directory EXTRA_CFLAGS=-Werror build/release/lingerd \
		build/asan/lingerd $(call UNIT_BINS,release) $(call UNIT_BINS,asan)
	@PYTHON=$(PYTHON) sh tests/run-all.sh

install: build/release/lingerd
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/doc/lingerd
	install -m 755 build/release/lingerd $(DESTDIR)$(PREFIX)/sbin/lingerd
	for m in docs/man/*.8; do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man8/ || true; done
	for m in docs/man/*.5; do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man5/ || true; done
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/lingerd/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/lingerd

clean:
	rm -rf build lingerd

-include $(shell find build -name '*.d' 2>/dev/null)
