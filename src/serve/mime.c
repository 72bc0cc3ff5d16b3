/* mime — media type of a file name by its extension.
 *
 * An open-addressing hash table (linear probing, power-of-two size, load at
 * most one half) keyed by the lower-cased extension, stored inline so that a
 * lookup copies at most MIME_EXT_MAX bytes to the stack and never allocates.
 * Built-in entries point at string literals; entries from mime_table_load
 * point into a private copy of the loaded text, which the table keeps until
 * mime_table_free. Text types carry no charset: that is the caller's policy.
 *
 * Left out: content sniffing, and names with no extension, which get the
 * default like any unknown extension.
 *
 * mime_table_load_file is the module's one I/O function; everything else is
 * pure.
 */
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest extension we index. Real ones are short ("webmanifest" is 11);
 * anything longer is answered with the default without hashing it. */
#define MIME_EXT_MAX 15
/* A mime.types file larger than this is not one (Debian's is about 60 KiB);
 * the cap also bounds reading from a FIFO or a device by mistake. */
#define MIME_FILE_MAX_BYTES (1024 * 1024)
#define MIME_FILE_READ_CHUNK (64 * 1024)
#define MIME_SLOTS_INITIAL 128
#define MIME_DEFAULT "application/octet-stream"

struct mime_entry {
    char ext[MIME_EXT_MAX + 1]; /* lower-case, NUL-terminated */
    const char *type;           /* NULL: empty slot */
};

/* Created by mime_table_new, freed by mime_table_free, which also frees
 * every loaded text the entries point into. */
struct mime_table {
    struct mime_entry *slots;
    size_t cap; /* power of two */
    size_t len; /* used slots */
    char **texts;
    size_t texts_len, texts_cap;
};

static const struct mime_builtin {
    const char *ext, *type;
} mime_builtins[] = {
    { "html", "text/html" },
    { "htm", "text/html" },
    { "css", "text/css" },
    { "js", "text/javascript" }, /* RFC 9239 */
    { "mjs", "text/javascript" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "webmanifest", "application/manifest+json" },
    { "xml", "application/xml" },
    { "xhtml", "application/xhtml+xml" },
    { "txt", "text/plain" },
    { "md", "text/markdown" },
    { "csv", "text/csv" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "svg", "image/svg+xml" },
    { "webp", "image/webp" },
    { "ico", "image/vnd.microsoft.icon" },
    { "avif", "image/avif" },
    { "bmp", "image/bmp" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "otf", "font/otf" },
    { "pdf", "application/pdf" },
    { "zip", "application/zip" },
    { "gz", "application/gzip" },
    { "tar", "application/x-tar" },
    { "wasm", "application/wasm" },
    { "mp4", "video/mp4" },
    { "webm", "video/webm" },
    { "mp3", "audio/mpeg" },
    { "ogg", "audio/ogg" },
    { "wav", "audio/wav" },
};

static char mime_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool mime_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* tchar (RFC 9110 §5.6.2): the type goes into a Content-Type header, so a
 * mime.types line must not be able to smuggle anything else in. */
static bool mime_is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* type "/" subtype, both 1*tchar. */
static bool mime_is_media_type(const char *s, size_t len)
{
    size_t slash = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (slash)
                return false;
            slash = i;
        } else if (!mime_is_tchar(s[i])) {
            return false;
        }
    }
    return slash > 0 && slash + 1 < len;
}

/* FNV-1a over the already lower-cased key. */
static size_t mime_hash(const char *key, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= UINT64_C(1099511628211);
    }
    return (size_t)h;
}

/* Slot holding key, or the empty slot where it would go. The load factor
 * keeps at least half the slots empty, so the probe ends. */
static struct mime_entry *mime_find(const struct mime_entry *slots, size_t cap, const char *key,
                                    size_t len)
{
    size_t i = mime_hash(key, len) & (cap - 1);

    for (;;) {
        const struct mime_entry *e = &slots[i];
        if (!e->type || (memcmp(e->ext, key, len) == 0 && e->ext[len] == '\0'))
            return (struct mime_entry *)e;
        i = (i + 1) & (cap - 1);
    }
}

static int mime_grow(struct mime_table *t)
{
    size_t cap = t->cap * 2;
    struct mime_entry *slots;

    if (cap > SIZE_MAX / sizeof *slots)
        return -ENOMEM;
    slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        const struct mime_entry *e = &t->slots[i];
        if (e->type)
            *mime_find(slots, cap, e->ext, strlen(e->ext)) = *e;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* Map ext[0..len) (any case) to type, replacing an earlier mapping; an
 * extension longer than MIME_EXT_MAX could never be looked up and is skipped.
 * type must outlive the table. */
static int mime_put(struct mime_table *t, const char *ext, size_t len, const char *type)
{
    char key[MIME_EXT_MAX + 1];
    struct mime_entry *e;

    if (len == 0 || len > MIME_EXT_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        key[i] = mime_lower(ext[i]);
    key[len] = '\0';

    e = mime_find(t->slots, t->cap, key, len);
    if (!e->type) {
        if ((t->len + 1) * 2 > t->cap) {
            int rc = mime_grow(t);
            if (rc < 0)
                return rc;
            e = mime_find(t->slots, t->cap, key, len);
        }
        memcpy(e->ext, key, len + 1);
        t->len++;
    }
    e->type = type;
    return 0;
}

struct mime_table *mime_table_new(void)
{
    struct mime_table *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->cap = MIME_SLOTS_INITIAL;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots)
        goto out_free_table;
    for (size_t i = 0; i < sizeof mime_builtins / sizeof mime_builtins[0]; i++) {
        const struct mime_builtin *b = &mime_builtins[i];
        if (mime_put(t, b->ext, strlen(b->ext), b->type) < 0)
            goto out_free_slots;
    }
    return t;

out_free_slots:
    free(t->slots);
out_free_table:
    free(t);
    errno = ENOMEM;
    return NULL;
}

void mime_table_free(struct mime_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->texts_len; i++)
        free(t->texts[i]);
    free(t->texts);
    free(t->slots);
    free(t);
}

/* Load text[0..len), a buffer from malloc that the table now owns (it is
 * freed here on failure). Types are NUL-terminated in place. On -ENOMEM the
 * lines before the failure stay loaded. */
static int mime_table_load_owned(struct mime_table *t, char *text, size_t len)
{
    size_t i = 0;

    if (t->texts_len == t->texts_cap) {
        size_t cap = t->texts_cap ? t->texts_cap * 2 : 4;
        char **texts = realloc(t->texts, cap * sizeof *texts);
        if (!texts) {
            free(text);
            return -ENOMEM;
        }
        t->texts = texts;
        t->texts_cap = cap;
    }
    t->texts[t->texts_len++] = text;

    while (i < len) {
        size_t type_start = 0, type_len = 0;
        bool have_type = false;

        /* One line: a type, then extensions; '#' to the end is a comment. */
        while (i < len && text[i] != '\n') {
            size_t start;

            while (i < len && mime_is_space(text[i]))
                i++;
            if (i == len || text[i] == '\n')
                break;
            if (text[i] == '#') {
                while (i < len && text[i] != '\n')
                    i++;
                break;
            }
            start = i;
            while (i < len && text[i] != '\n' && text[i] != '#' && !mime_is_space(text[i]))
                i++;

            if (!have_type) {
                type_start = start;
                type_len = i - start;
                have_type = true;
                if (!mime_is_media_type(text + start, type_len)) {
                    while (i < len && text[i] != '\n')
                        i++; /* skip the whole line */
                    break;
                }
                continue;
            }
            /* An extension follows, so text[type_start + type_len] is the
             * whitespace after the type and can become its terminator. */
            text[type_start + type_len] = '\0';
            /* A NUL would make the key disagree with its own strlen. */
            if (!memchr(text + start, '\0', i - start)) {
                int rc = mime_put(t, text + start, i - start, text + type_start);
                if (rc < 0)
                    return rc;
            }
        }
        i++; /* the '\n' */
    }
    return 0;
}

int mime_table_load(struct mime_table *t, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);

    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, text, len);
    return mime_table_load_owned(t, copy, len);
}

int mime_table_load_file(struct mime_table *t, const char *path)
{
    struct stat st;
    size_t cap, len = 0;
    char *buf;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out_close_fd;
    }
    if (S_ISREG(st.st_mode) && st.st_size > MIME_FILE_MAX_BYTES) {
        rc = -EFBIG;
        goto out_close_fd;
    }
    /* One byte more than the file should hold, so a file that grew since
     * fstat, or a device that never ends, fills the buffer and meets the
     * cap check below instead of being read forever. */
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : MIME_FILE_READ_CHUNK;
    buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto out_close_fd;
    }
    for (;;) {
        ssize_t n;

        if (len == cap) {
            char *more;
            if (cap > MIME_FILE_MAX_BYTES) {
                rc = -EFBIG;
                goto out_free_buf;
            }
            cap = cap * 2 > MIME_FILE_MAX_BYTES + 1 ? MIME_FILE_MAX_BYTES + 1 : cap * 2;
            more = realloc(buf, cap);
            if (!more) {
                rc = -ENOMEM;
                goto out_free_buf;
            }
            buf = more;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out_free_buf;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return mime_table_load_owned(t, buf, len);

out_free_buf:
    free(buf);
out_close_fd:
    close(fd);
    return rc;
}

const char *mime_lookup_or(const struct mime_table *t, const char *name, size_t len,
                           const char *unknown)
{
    char key[MIME_EXT_MAX + 1];
    size_t seg = 0, dot = 0, n;
    const struct mime_entry *e;

    for (size_t i = 0; i < len; i++) {
        if (name[i] == '/')
            seg = i + 1;
        else if (name[i] == '.')
            dot = i + 1;
    }
    /* No dot in the last segment, or only a leading one (".htaccess" is a
     * hidden file, not an "htaccess" file): no extension. */
    if (dot <= seg + 1)
        return unknown;
    n = len - dot;
    if (n == 0 || n > MIME_EXT_MAX)
        return unknown;
    for (size_t i = 0; i < n; i++) {
        if (name[dot + i] == '\0')
            return unknown; /* keys never hold one; "a.js\0" is not .js */
        key[i] = mime_lower(name[dot + i]);
    }
    e = mime_find(t->slots, t->cap, key, n);
    return e->type ? e->type : unknown;
}

const char *mime_lookup(const struct mime_table *t, const char *name, size_t len)
{
    return mime_lookup_or(t, name, len, MIME_DEFAULT);
}
