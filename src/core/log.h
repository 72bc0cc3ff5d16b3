/* log — the error log: leveled lines for operators.
 *
 * Lines are formatted into a buffer and written once per loop iteration
 * (log_flush), never a blocking write per event on the hot path; an error
 * line (LOG_ERROR) is flushed at once. Client bytes must reach here through
 * log_escape so no CR, LF or ESC gets into the log.
 */
#ifndef LINGERD_LOG_H
#define LINGERD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_LEVEL_COUNT };

const char *log_level_name(enum log_level l);

/* Parse "error", "warn", "info", "debug". 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* Send the error log to path ("stderr" or NULL: standard error) and write
 * messages up to level. If path is the file already open it is kept (a
 * worker keeps what its master opened). 0 or -errno. */
int log_open(const char *path, enum log_level level);
enum log_level log_level_current(void);
/* Reopen the same path (SIGUSR1, after logrotate renamed the file), then
 * the log registered with log_reopen_also. 0, or the first -errno. */
int log_reopen(void);
/* Another log for log_reopen to reopen (the access log registers here, so
 * one SIGUSR1 handler reopens both). NULL unregisters. */
void log_reopen_also(int (*reopen)(void));
void log_close(void);

static inline bool log_enabled(enum log_level level)
{
    extern enum log_level log_threshold;
    return level <= log_threshold;
}

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write buffered lines out. */
void log_flush(void);

/* Copy src[0..len) into dst[0..cap) (NUL-terminated) with bytes outside
 * printable ASCII written as \xHH. Returns dst. */
char *log_escape(char *dst, size_t cap, const char *src, size_t len);

#endif
