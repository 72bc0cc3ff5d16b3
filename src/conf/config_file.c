/* config_file — the configuration file's syntax, read into a struct config
 * through the directive table.
 *
 * The syntax is nginx's: `name arg...;`, `server { ... }` (a site chosen by
 * Host, at the top level), `location /prefix { ... }` (in either),
 * `include path;`, '#' comments, "quoted strings" with \" and \\ (any other
 * backslash stays as written, so regexes read naturally). Blocks put per-path
 * policy (methods, auth, upload limits) next to its path where a reader sees
 * it, and operators already know the syntax from nginx. An error never stops
 * the parse: each is printed as FILE:LINE: message and the parser resumes
 * after the next ';' or '}', so one run reports every mistake.
 *
 * Bounds: CONFIG_FILE_MAX_BYTES per file, CONFIG_INCLUDE_DEPTH_MAX nested
 * includes (and no include loop), CONFIG_WORDS_MAX words per statement.
 * Values are checked by config_set (config.c), not here.
 */
#include "config_table.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX_BYTES (1u << 20) /* a config bigger than this is a mistake */
#define CONFIG_INCLUDE_DEPTH_MAX 16

struct config_parse {
    struct config *cfg;
    FILE *errs;
    bool failed;
    bool main_set[CONFIG_DIRECTIVES_MAX];       /* directives set at main level */
    char *stack[CONFIG_INCLUDE_DEPTH_MAX];      /* realpath()s of the files being read */
    size_t depth;
};

struct config_file {
    const char *path; /* as named, for messages */
    char *buf;
    size_t len, pos;
    unsigned line;
    char *scratch;    /* unescaped words of the current statement */
    size_t scratch_len;
};

enum config_tok { CONFIG_TOK_WORD, CONFIG_TOK_SEMI, CONFIG_TOK_OPEN, CONFIG_TOK_CLOSE,
                  CONFIG_TOK_EOF, CONFIG_TOK_ERROR };

__attribute__((format(printf, 4, 5)))
static void config_error(struct config_parse *ps, const char *path, unsigned line,
                         const char *fmt, ...)
{
    va_list ap;

    fprintf(ps->errs, "%s:%u: ", path, line);
    va_start(ap, fmt);
    vfprintf(ps->errs, fmt, ap);
    va_end(ap);
    fputc('\n', ps->errs);
    ps->failed = true;
}

static bool config_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* The next token; a word is copied, unescaped, into f->scratch. */
static enum config_tok config_next(struct config_parse *ps, struct config_file *f, char **word,
                                   unsigned *line)
{
    for (;;) {
        while (f->pos < f->len && config_is_space(f->buf[f->pos]))
            if (f->buf[f->pos++] == '\n')
                f->line++;
        if (f->pos < f->len && f->buf[f->pos] == '#') {
            while (f->pos < f->len && f->buf[f->pos] != '\n')
                f->pos++;
            continue;
        }
        break;
    }
    *line = f->line;
    if (f->pos == f->len)
        return CONFIG_TOK_EOF;
    switch (f->buf[f->pos]) {
    case ';': f->pos++; return CONFIG_TOK_SEMI;
    case '{': f->pos++; return CONFIG_TOK_OPEN;
    case '}': f->pos++; return CONFIG_TOK_CLOSE;
    default: break;
    }

    /* scratch holds at most len + one NUL per word: never overflows */
    *word = f->scratch + f->scratch_len;
    if (f->buf[f->pos] == '"') {
        f->pos++;
        for (;;) {
            char c;
            if (f->pos == f->len) {
                config_error(ps, f->path, *line, "unterminated string");
                return CONFIG_TOK_ERROR;
            }
            c = f->buf[f->pos++];
            if (c == '"')
                break;
            if (c == '\n')
                f->line++;
            if (c == '\\' && f->pos < f->len
                && (f->buf[f->pos] == '"' || f->buf[f->pos] == '\\'))
                c = f->buf[f->pos++];
            f->scratch[f->scratch_len++] = c;
        }
    } else {
        /* not strchr(";{}", c): that matches a NUL, and would stop here forever */
        while (f->pos < f->len && !config_is_space(f->buf[f->pos]) && f->buf[f->pos] != ';'
               && f->buf[f->pos] != '{' && f->buf[f->pos] != '}')
            f->scratch[f->scratch_len++] = f->buf[f->pos++];
    }
    f->scratch[f->scratch_len++] = '\0';
    return CONFIG_TOK_WORD;
}

static void config_parse_block(struct config_parse *ps, struct config_file *f,
                               struct config_server *srv, struct config_location *loc,
                               bool braced, unsigned open_line, const char *what);

/* Skip a block that cannot be used, up to its '}'. */
static void config_skip_block(struct config_parse *ps, struct config_file *f, unsigned open_line)
{
    unsigned depth = 1, line;
    char *word;

    for (;;) {
        f->scratch_len = 0;
        switch (config_next(ps, f, &word, &line)) {
        case CONFIG_TOK_OPEN: depth++; break;
        case CONFIG_TOK_CLOSE:
            if (--depth == 0)
                return;
            break;
        case CONFIG_TOK_EOF:
            config_error(ps, f->path, open_line, "unterminated block: missing '}'");
            return;
        case CONFIG_TOK_ERROR: return;
        case CONFIG_TOK_WORD:
        case CONFIG_TOK_SEMI: break;
        }
    }
}

int config_read_file(const char *path, size_t max_bytes, char **buf, size_t *len, char *err,
                     size_t errlen)
{
    struct stat st;
    size_t cap, n = 0;
    char *b;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s", S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        goto out_close;
    }
    if ((uint64_t)st.st_size > max_bytes)
        goto out_too_large;
    cap = (size_t)st.st_size + 1; /* one more: the file may have grown */
    b = malloc(cap);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        goto out_close;
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            char *nb;
            if (cap > max_bytes) {
                free(b);
                goto out_too_large;
            }
            cap = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
            nb = realloc(b, cap);
            if (!nb) {
                free(b);
                snprintf(err, errlen, "out of memory");
                goto out_close;
            }
            b = nb;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            free(b);
            goto out_close;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max_bytes) {
        free(b);
        goto out_too_large;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;

out_too_large:
    snprintf(err, errlen, "file too large (max %zu bytes)", max_bytes);
out_close:
    close(fd);
    return -1;
}

/* Parse one file into srv and loc (NULL: main level). A read error is
 * reported at from_path:from_line (the include directive), or as
 * "PATH: ..." for the top. */
static void config_parse_file(struct config_parse *ps, const char *path,
                              struct config_server *srv, struct config_location *loc,
                              const char *from_path, unsigned from_line)
{
    struct config_file f = { .path = path, .line = 1 };
    char err[CONFIG_ERR_MAX], *real;
    const char *nul;

    if (config_read_file(path, CONFIG_FILE_MAX_BYTES, &f.buf, &f.len, err, sizeof err) < 0) {
        if (from_path)
            config_error(ps, from_path, from_line, "include '%s': %s", path, err);
        else {
            fprintf(ps->errs, "%s: %s\n", path, err);
            ps->failed = true;
        }
        return;
    }
    real = realpath(path, NULL);
    if (!real) {
        config_error(ps, from_path ? from_path : path, from_path ? from_line : 1, "'%s': %s",
                     path, strerror(errno));
        goto out_free_buf;
    }
    for (size_t i = 0; i < ps->depth; i++) {
        if (strcmp(ps->stack[i], real) == 0) {
            config_error(ps, from_path, from_line, "include loop: '%s' is already being read",
                         path);
            goto out_free_real;
        }
    }
    if (ps->depth == CONFIG_INCLUDE_DEPTH_MAX) {
        config_error(ps, from_path, from_line, "includes nested too deeply (max %d)",
                     CONFIG_INCLUDE_DEPTH_MAX);
        goto out_free_real;
    }
    nul = memchr(f.buf, '\0', f.len);
    if (nul) {
        unsigned line = 1;
        for (const char *p = f.buf; p < nul; p++)
            line += *p == '\n';
        config_error(ps, path, line, "NUL byte in file");
        goto out_free_real;
    }
    f.scratch = malloc(f.len * 2 + 1);
    if (!f.scratch) {
        config_error(ps, path, 1, "out of memory");
        goto out_free_real;
    }
    ps->stack[ps->depth++] = real;
    config_parse_block(ps, &f, srv, loc, false, 1, NULL);
    ps->depth--;
    free(f.scratch);
out_free_real:
    free(real);
out_free_buf:
    free(f.buf);
}

static bool config_has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* include PATH: relative to the including file; a pattern may match nothing. */
static void config_include(struct config_parse *ps, struct config_file *f,
                           struct config_server *srv, struct config_location *loc,
                           const char *arg, unsigned line)
{
    const char *slash = strrchr(f->path, '/');
    char *path;
    glob_t g;
    int rc;

    if (arg[0] == '/' || !slash)
        path = strdup(arg);
    else if (asprintf(&path, "%.*s/%s", (int)(slash - f->path), f->path, arg) < 0)
        path = NULL;
    if (!path) {
        config_error(ps, f->path, line, "out of memory");
        return;
    }
    if (!config_has_glob(path)) {
        config_parse_file(ps, path, srv, loc, f->path, line);
        free(path);
        return;
    }
    rc = glob(path, GLOB_ERR, NULL, &g);
    if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            config_parse_file(ps, g.gl_pathv[i], srv, loc, f->path, line);
    } else if (rc != GLOB_NOMATCH) {
        config_error(ps, f->path, line, "include '%s': %s", path,
                     rc == GLOB_NOSPACE ? "out of memory" : "cannot read directory");
    }
    if (rc != GLOB_NOMATCH)
        globfree(&g);
    free(path);
}

static void config_location_block(struct config_parse *ps, struct config_file *f,
                                  struct config_server *srv, struct config_location *outer,
                                  char **w, size_t n, unsigned line)
{
    struct config_location discard = { 0 }, *loc = &discard;
    char err[CONFIG_ERR_MAX];

    /* a bad block is still parsed (into discard) so its errors are reported too */
    if (outer) {
        config_error(ps, f->path, line, "location blocks cannot be nested");
    } else if (n != 2) {
        config_error(ps, f->path, line,
                     "wrong number of arguments for 'location' (usage: location PREFIX { ... })");
    } else {
        loc = config_add_location_in(ps->cfg, srv, w[1], err, sizeof err);
        if (!loc) {
            config_error(ps, f->path, line, "%s", err);
            loc = &discard;
        } else if (asprintf(&loc->where, "%s:%u", f->path, line) < 0) {
            loc->where = NULL;
        }
    }
    config_parse_block(ps, f, srv, loc, true, line, loc->prefix ? loc->prefix : "");
    if (loc == &discard)
        config_location_fini(&discard);
}

/* server { ... }: a site chosen by the Host field (server_name). Only at
 * main level; a bad block is parsed into a discarded one, as locations. */
static void config_server_block(struct config_parse *ps, struct config_file *f,
                                struct config_server *outer, struct config_location *loc,
                                size_t n, unsigned line)
{
    struct config_server *srv = NULL;
    char err[CONFIG_ERR_MAX];

    if (outer || loc)
        config_error(ps, f->path, line, "server blocks go at the top level, not inside %s",
                     loc ? "location" : "server");
    else if (n != 1)
        config_error(ps, f->path, line,
                     "'server' takes no arguments (usage: server { server_name NAME; ... })");
    else if (!(srv = config_add_server(ps->cfg, err, sizeof err)))
        config_error(ps, f->path, line, "%s", err);
    if (!srv) {
        config_skip_block(ps, f, line);
        return;
    }
    if (asprintf(&srv->where, "%s:%u", f->path, line) < 0)
        srv->where = NULL;
    config_parse_block(ps, f, srv, NULL, true, line, "server");
}

/* Was d already set in this block (a repeat is an error for rows that are
 * not lists)? */
static bool config_already_set(const struct config_parse *ps, const struct config_server *srv,
                               const struct config_location *loc,
                               const struct config_directive *d)
{
    if (config_is_repeatable(d))
        return false;
    if (loc)
        return d->loc_size && (loc->set_mask & config_directive_bit(d));
    if (srv) {
        if (d->srv_size)
            return (srv->set_mask & config_directive_srv_bit(d)) != 0;
        return d->loc_size && (srv->defaults.set_mask & config_directive_bit(d));
    }
    return config_allowed_main(d) && ps->main_set[d - config_directives];
}

static void config_statement(struct config_parse *ps, struct config_file *f,
                             struct config_server *srv, struct config_location *loc, char **w,
                             size_t n, unsigned line)
{
    const struct config_directive *d;
    char err[CONFIG_ERR_MAX];

    if (strcmp(w[0], "include") == 0) {
        if (n != 2)
            config_error(ps, f->path, line,
                         "wrong number of arguments for 'include' (usage: include PATH)");
        else
            config_include(ps, f, srv, loc, w[1], line);
        return;
    }
    if (strcmp(w[0], "location") == 0 || strcmp(w[0], "server") == 0) {
        config_error(ps, f->path, line, "'%s' needs a block: %s", w[0],
                     w[0][0] == 'l' ? "location PREFIX { ... }" : "server { ... }");
        return;
    }
    d = config_directive_find(w[0]);
    if (d && config_already_set(ps, srv, loc, d)) {
        config_error(ps, f->path, line, "'%s' is already set in this block", w[0]);
        return;
    }
    if (config_set_in(ps->cfg, srv, loc, w[0], (const char *const *)w + 1, n - 1, err,
                      sizeof err) < 0) {
        config_error(ps, f->path, line, "%s", err);
        return;
    }
    if (!loc && !srv)
        ps->main_set[d - config_directives] = true;
    config_note_where(ps->cfg, srv, loc, d, f->path, line);
}

/* Statements up to EOF, or up to the '}' that closes a block opened at open_line. */
static void config_parse_block(struct config_parse *ps, struct config_file *f,
                               struct config_server *srv, struct config_location *loc,
                               bool braced, unsigned open_line, const char *what)
{
    for (;;) {
        char *w[CONFIG_WORDS_MAX], *word;
        size_t n = 0;
        unsigned line = 0, tok_line;
        bool too_many = false;
        enum config_tok tok;

        f->scratch_len = 0;
        while ((tok = config_next(ps, f, &word, &tok_line)) == CONFIG_TOK_WORD) {
            if (n == 0)
                line = tok_line;
            if (n < CONFIG_WORDS_MAX)
                w[n++] = word;
            else
                too_many = true;
        }
        if (n == 0)
            line = tok_line;
        if (too_many) {
            config_error(ps, f->path, line, "too many words in one statement (max %d)",
                         CONFIG_WORDS_MAX);
            if (tok == CONFIG_TOK_OPEN)
                config_skip_block(ps, f, line);
            continue;
        }
        switch (tok) {
        case CONFIG_TOK_SEMI:
            if (n == 0)
                config_error(ps, f->path, line, "unexpected ';'");
            else
                config_statement(ps, f, srv, loc, w, n, line);
            break;
        case CONFIG_TOK_OPEN:
            if (n > 0 && strcmp(w[0], "location") == 0) {
                config_location_block(ps, f, srv, loc, w, n, line);
            } else if (n > 0 && strcmp(w[0], "server") == 0) {
                config_server_block(ps, f, srv, loc, n, line);
            } else {
                if (n > 0)
                    config_error(ps, f->path, line, "unexpected '{' after '%s'", w[0]);
                else
                    config_error(ps, f->path, line, "unexpected '{'");
                config_skip_block(ps, f, line);
            }
            break;
        case CONFIG_TOK_CLOSE:
            if (n > 0)
                config_error(ps, f->path, line, "missing ';' after '%s'", w[0]);
            if (braced)
                return;
            config_error(ps, f->path, tok_line, "unexpected '}'");
            break;
        case CONFIG_TOK_EOF:
            if (n > 0)
                config_error(ps, f->path, line, "missing ';' after '%s'", w[0]);
            if (braced)
                config_error(ps, f->path, open_line, "unterminated block: missing '}' for %s%s%s",
                             loc ? "location '" : "server", loc ? what : "", loc ? "'" : "");
            return;
        case CONFIG_TOK_ERROR:
            return; /* an unterminated string ran to the end of the file */
        case CONFIG_TOK_WORD:
            break;
        }
    }
}

int config_load_file(struct config *cfg, const char *path, FILE *errs)
{
    struct config_parse ps = { .cfg = cfg, .errs = errs };

    config_parse_file(&ps, path, NULL, NULL, NULL, 0);
    return ps.failed ? -1 : 0;
}
