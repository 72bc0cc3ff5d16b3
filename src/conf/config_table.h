/* config_table — the directive table, shared by the modules that read it:
 * config_table.c (the rows), config_directive.c (what a row says: scope,
 * set_mask bits, ownership), config_check.c (the rows' value checks),
 * config_value.c (one value by its type) and config_compound.c (the
 * structured types),
 * config.c (defaults, inheritance, checks), config_file.c (the file syntax)
 * and config_reference.c (`lingerd -h`, docs/directives.md, lingerd.conf(5),
 * conf/lingerd.conf). The rest of the server uses config.h.
 */
#ifndef LINGERD_CONFIG_TABLE_H
#define LINGERD_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CONFIG_ERR_MAX 512  /* one message */
#define CONFIG_WORDS_MAX 64 /* words in one statement */

#define CONFIG_BACKLOG_DEFAULT 511 /* as nginx: fits the kernel's default somaxconn */

/* Units of the table's bounds and of the value syntax. */
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define MS_S 1000ull
#define MS_M (60ull * MS_S)
#define MS_H (60ull * MS_M)

enum config_type {
    CONFIG_T_DURATION,     /* uint64_t ms */
    CONFIG_T_DURATION_OFF, /* int64_t ms; "off" is -1 */
    CONFIG_T_SIZE,         /* bytes, uint32_t or uint64_t */
    CONFIG_T_NUMBER,       /* a plain count */
    CONFIG_T_BOOL,         /* bool, on|off */
    CONFIG_T_STRING,       /* char *, owned; may be empty */
    CONFIG_T_PATH,         /* char *, owned; never empty */
    CONFIG_T_ENUM,         /* an enum, values named by the row's names[] */
    CONFIG_T_METHODS,      /* unsigned, bit (1u << enum http1_method) */
    CONFIG_T_LISTEN,       /* struct config_listen[], count at count_off */
    CONFIG_T_PATTERN,      /* char *[] + regex_t[] at aux_off, count at count_off */
    CONFIG_T_MODE,         /* unsigned, octal */
    CONFIG_T_CIDRS,        /* struct config_cidr[], count at count_off */
    CONFIG_T_KEYWORDS,     /* unsigned, bit (1u << i) per names[i] given */
    CONFIG_T_CERTS,        /* struct config_tls_cert[], count at count_off */
    CONFIG_T_NAMES,        /* struct config_names: host names of a server block */
    CONFIG_T_HEADER,       /* struct config_headers: add_header lines, appended */
    CONFIG_T_EXPIRES,      /* int64_t seconds, or CONFIG_EXPIRES_* */
    CONFIG_T_RETURN,       /* struct config_return */
    CONFIG_T_ERROR_PAGE,   /* struct config_error_pages, appended */
    CONFIG_T_WORDS,        /* char *, owned: the words joined by one space */
    CONFIG_T__COUNT
};


struct config_type_info {
    const char *name;     /* in the reference */
    const char *synopsis; /* arguments, when the row gives none */
    const char *expected; /* "expected ..." in messages */
    unsigned nargs_min, nargs_max;
};
extern const struct config_type_info config_types[];

#define CONFIG_F_ROUND_S 1u /* round up to whole seconds: the kernel option counts seconds */
/* A main-level list that a server block may add to (tls_certificate: the
 * TLS store is one per listener and picks by the certificates' names). */
#define CONFIG_F_SERVER_ADDS 2u

/* One setting. Scope follows from the storage: main_size, allowed at main
 * level; srv_size (struct config_server) or loc_size, allowed in a server
 * block (a location row's server value goes to the block's defaults);
 * loc_size, allowed in a location. A value not set at a level is inherited
 * from the one above: main, server, location. At main level a server row
 * (root, index) is the top level's struct config_server, and a location
 * row without a main field (auth_basic, return, fallback) goes to the top
 * level's defaults: the top level is the implicit server. */
struct config_directive {
    const char *name;
    enum config_type type;
    size_t main_off, main_size; /* main_size 0: not allowed at main level */
    size_t srv_off, srv_size;   /* struct config_server; 0: see loc_size */
    size_t loc_off, loc_size;   /* loc_size 0: not allowed inside location */
    size_t count_off, aux_off;  /* LISTEN, PATTERN: element count; PATTERN: regex_t[] */
    const char *def;            /* default, parsed like the file; NULL: none */
    uint64_t min, max;          /* numeric types, in ms or bytes */
    unsigned flags;             /* CONFIG_F_* */
    const char *const *names;   /* CONFIG_T_ENUM: values in enum order, NULL-terminated */
    /* STRING, PATH: a further check of the value (a format, a path's form);
     * 0, or -1 with the reason in err */
    int (*check)(const char *value, char *err, size_t errlen);
    const char *args;           /* synopsis; NULL: the type's */
    const char *group;          /* heading in the reference */
    const char *help;
};

/* The rows, config_directive_count() of them, in the reference's order; at
 * most CONFIG_DIRECTIVES_MAX. */
#define CONFIG_DIRECTIVES_MAX 256
extern const struct config_directive config_directives[];
/* Method names in enum http1_method order (NULL: not configurable). */
extern const char *const config_method_names[];

/* The row named name, or NULL. */
const struct config_directive *config_directive_find(const char *name);
/* The bit of a row that locations may set (loc_size != 0) in a set_mask. */
uint64_t config_directive_bit(const struct config_directive *d);
/* The bit of a server row (srv_size != 0) in config_server.set_mask. */
uint64_t config_directive_srv_bit(const struct config_directive *d);
/* Where the row may be written: main level, in a server block, in a location. */
bool config_allowed_main(const struct config_directive *d);
bool config_allowed_server(const struct config_directive *d);
bool config_allowed_location(const struct config_directive *d);
/* listen, patterns and address lists add up; everything else is set once. */
bool config_is_repeatable(const struct config_directive *d);
/* The row's value owns memory (strings, add_header lines). */
bool config_owns_memory(const struct config_directive *d);
/* Free what a field of row d owns, leaving it empty. */
void config_free_value(const struct config_directive *d, void *field);
/* The file parser tells where a statement that config_set accepted was
 * written, for the rows whose later checks name it (listen, tls_certificate,
 * auth_user_file). loc is NULL at main level. */
void config_note_where(struct config *cfg, struct config_server *srv,
                       struct config_location *loc, const struct config_directive *d,
                       const char *path, unsigned line);
/* Free what a location owns and zero it. */
void config_location_fini(struct config_location *loc);
/* Free what a server block owns (not the struct itself) and zero it. */
void config_server_fini(struct config_server *srv);

/* Text output into a fixed buffer; overflow is remembered, never a crash. */
struct config_out {
    char *buf;
    size_t cap, len;
    bool overflow;
};

__attribute__((format(printf, 2, 3)))
void config_out_add(struct config_out *o, const char *fmt, ...);
/* "MIN..MAX" of a numeric row, in the units it was written in. */
void config_format_bounds(struct config_out *o, const struct config_directive *d);

/* config_check.c, for the rows' .check: 0, or -1 with the reason in err.
 * A media type for gzip_types ("type/subtype", "text/" then a star, or "*"). */
int config_check_media_type(const char *value, char *err, size_t errlen);
/* status_path, metrics_path: a path to match exactly, or "" for off. */
int config_check_url_path(const char *value, char *err, size_t errlen);
/* default_type: type/subtype, both tokens, optional parameters. */
int config_check_default_type(const char *value, char *err, size_t errlen);
/* fallback: a path starting with '/', as a request would name it decoded. */
int config_check_fallback(const char *value, char *err, size_t errlen);
/* tls_ciphers, tls_ciphersuites: what can be an OpenSSL cipher list. */
int config_check_cipher_list(const char *value, char *err, size_t errlen);

/* config_value.c, for config.c: store one statement's arguments at base+off
 * (size bytes) by the row's type; read an unsigned field of any width;
 * format a number in the row's unit. */
int config_store(struct config *cfg, const struct config_directive *d, char *base, size_t off,
                 size_t size, const char *const *args, size_t nargs, char *err, size_t errlen);
uint64_t config_get_uint(const void *p, size_t size);
void config_format_number(struct config_out *o, const struct config_directive *d, uint64_t v);
/* Shared with config_compound.c: leading digits in base (at least one; *s
 * moves past them); the error for a value of the wrong form; the error for
 * one out of the row's bounds. The last two return -1 for the caller. */
int config_parse_digits(const char **s, unsigned base, uint64_t *v);
int config_bad_value(const struct config_directive *d, const char *arg, char *err,
                     size_t errlen);
int config_check_bounds(const struct config_directive *d, uint64_t v, const char *arg,
                        char *err, size_t errlen);

/* config_compound.c, for config_store: the structured types, each storing
 * args into its field (or the configuration's list) or saying why not. */
int config_add_listen(struct config *cfg, const struct config_directive *d,
                      const char *const *args, size_t nargs, char *err, size_t errlen);
int config_add_patterns(struct config *cfg, const struct config_directive *d,
                        const char *const *args, size_t nargs, char *err, size_t errlen);
int config_add_cidrs(struct config *cfg, const struct config_directive *d,
                     const char *const *args, size_t nargs, char *err, size_t errlen);
int config_add_cert(struct config *cfg, const struct config_directive *d,
                    const char *const *args, char *err, size_t errlen);
int config_parse_keywords(const struct config_directive *d, unsigned *mask,
                          const char *const *args, size_t nargs, char *err, size_t errlen);
int config_parse_methods(const struct config_directive *d, unsigned *mask,
                         const char *const *args, size_t nargs, char *err, size_t errlen);
int config_add_names(const struct config_directive *d, struct config_names *names,
                     const char *const *args, size_t nargs, char *err, size_t errlen);
int config_add_header(const struct config_directive *d, struct config_headers *h,
                      const char *const *args, size_t nargs, char *err, size_t errlen);
int config_set_expires(const struct config_directive *d, int64_t *out, const char *arg,
                       char *err, size_t errlen);
int config_add_error_page(const struct config_directive *d, struct config_error_pages *p,
                          const char *const *args, size_t nargs, char *err, size_t errlen);
int config_set_return(const struct config_directive *d, struct config_return *r,
                      const char *const *args, size_t nargs, char *err, size_t errlen);
int config_store_words(const struct config_directive *d, void *field,
                       const char *const *args, size_t nargs, char *err, size_t errlen);

#endif
