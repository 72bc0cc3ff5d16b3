/* log — error log with levels, buffered, escaped, reopenable.
 *
 * One process writes its own lines; a line is at most LOG_LINE_MAX bytes.
 * The buffer is flushed when it fills, at every LOG_ERROR line, and once per
 * loop iteration; a write that fails is dropped (a full disk must not stop
 * the server).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024
#define LOG_BUFFER_BYTES 16384

enum log_level log_threshold = LOG_WARN;

static int log_fd = 2;
static char *log_path;
static char log_buf[LOG_BUFFER_BYTES];
static size_t log_len;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

const char *log_level_name(enum log_level l)
{
    return l < LOG_LEVEL_COUNT ? log_names[l] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < LOG_LEVEL_COUNT; i++)
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

static int log_open_path(const char *path)
{
    if (!path || strcmp(path, "stderr") == 0)
        return 2;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

enum log_level log_level_current(void)
{
    return log_threshold;
}

static bool log_is_open(const char *path)
{
    bool want_stderr = !path || strcmp(path, "stderr") == 0;
    if (want_stderr)
        return log_fd == 2;
    return log_fd > 2 && log_path && strcmp(log_path, path) == 0;
}

int log_open(const char *path, enum log_level level)
{
    if (log_is_open(path)) {
        log_threshold = level;
        return 0;
    }
    int fd = log_open_path(path);
    if (fd < 0)
        return fd;
    log_flush();
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    free(log_path);
    log_path = path ? strdup(path) : NULL;
    log_threshold = level;
    return 0;
}

static int (*log_reopen_other)(void);

void log_reopen_also(int (*reopen)(void))
{
    log_reopen_other = reopen;
}

int log_reopen(void)
{
    int rc = 0, fd = log_open_path(log_path);
    if (fd < 0) {
        rc = fd;
    } else {
        log_flush();
        if (log_fd > 2)
            close(log_fd);
        log_fd = fd;
    }
    if (log_reopen_other) {
        int other = log_reopen_other();
        if (rc == 0)
            rc = other;
    }
    return rc;
}

void log_close(void)
{
    log_flush();
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
    free(log_path);
    log_path = NULL;
}

void log_flush(void)
{
    size_t off = 0;
    while (off < log_len) {
        ssize_t n = write(log_fd, log_buf + off, log_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    log_len = 0;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    if (log_len + LOG_LINE_MAX > sizeof log_buf)
        log_flush();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char *p = log_buf + log_len;
    size_t room = LOG_LINE_MAX - 1;
    int n = snprintf(p, room, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %d: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_names[level], (int)getpid());
    if (n < 0)
        return;
    size_t used = (size_t)n < room ? (size_t)n : room;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(p + used, room - used, fmt, ap);
    va_end(ap);
    if (m > 0)
        used += (size_t)m < room - used ? (size_t)m : room - used - 1;
    p[used++] = '\n';
    log_len += used;
    if (level == LOG_ERROR)
        log_flush();
}

char *log_escape(char *dst, size_t cap, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (cap == 0)
        return dst;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            dst[o++] = (char)ch;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    dst[o] = '\0';
    return dst;
}
