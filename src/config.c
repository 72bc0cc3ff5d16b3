/* config — the directive table, the file parser and the directive reference.
 *
 * Every setting is one row of config_directives[]: name, type, where it is
 * stored (struct config and/or struct config_location), default as TEXT,
 * bounds, argument synopsis and a one-line help. Defaults, the file parser,
 * config_set (the command line), validation, `lingerd -h`, docs/directives.md
 * and lingerd.conf(5) all read that table, so adding a setting is one row plus
 * a struct field.
 *
 * Scope follows from the storage, so the two cannot disagree: a row with only
 * a main field is main-only, only a location field is location-only, both
 * means the main value is the default for every location that does not set
 * it. Which directives a location set is a bit per row (index in the table)
 * in config_location.set_mask; config_finish copies the rest from main.
 *
 * File syntax is nginx's: `name arg...;`, `location /prefix { ... }`,
 * `include path;`, '#' comments, "quoted strings" with \" and \\ (any other
 * backslash stays as written, so regexes read naturally). Blocks put per-path
 * policy (methods, auth, upload limits) next to its path where a reader sees
 * it, and operators already know the syntax from nginx. An error never stops
 * the parse: each is printed as FILE:LINE: message and the parser resumes
 * after the next ';' or '}', so one run reports every mistake.
 *
 * Bounds of the parser itself: CONFIG_FILE_MAX_BYTES per file,
 * CONFIG_INCLUDE_DEPTH_MAX nested includes, CONFIG_WORDS_MAX words per
 * statement. Not here: reload (the master loads a fresh struct config) and
 * anything that touches sockets; listen addresses are parsed, never bound.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "auth.h"
#include "http1.h"

#define CONFIG_FILE_MAX_BYTES (1u << 20) /* a config bigger than this is a mistake */
#define CONFIG_INCLUDE_DEPTH_MAX 16
#define CONFIG_WORDS_MAX 64
#define CONFIG_BACKLOG_DEFAULT 511 /* as nginx: fits the kernel's default somaxconn */
#define CONFIG_ERR_MAX 512

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define MS_S 1000ull
#define MS_M (60ull * MS_S)
#define MS_H (60ull * MS_M)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
    CONFIG_T__COUNT
};

static const struct config_type_info {
    const char *name;     /* in the reference */
    const char *synopsis; /* arguments, when the row gives none */
    const char *expected; /* "expected ..." in messages */
    unsigned nargs_min, nargs_max;
} config_types[] = {
    [CONFIG_T_DURATION] = { "duration", "DURATION", "a duration like 500ms, 2s, 1m", 1, 1 },
    [CONFIG_T_DURATION_OFF] = { "duration", "off|DURATION",
                                "off or a duration like 500ms, 2s, 1m", 1, 1 },
    [CONFIG_T_SIZE] = { "size", "SIZE", "a size like 512, 8k, 1m, 1g", 1, 1 },
    [CONFIG_T_NUMBER] = { "number", "N", "a whole number like 100", 1, 1 },
    [CONFIG_T_BOOL] = { "boolean", "on|off", "on or off", 1, 1 },
    [CONFIG_T_STRING] = { "string", "STRING", "a string", 1, 1 },
    [CONFIG_T_PATH] = { "path", "PATH", "a non-empty path", 1, 1 },
    [CONFIG_T_ENUM] = { "keyword", NULL, NULL, 1, 1 },
    [CONFIG_T_METHODS] = { "method list", "METHOD...",
                           "method names: GET HEAD POST PUT DELETE OPTIONS TRACE CONNECT PATCH",
                           1, CONFIG_WORDS_MAX },
    [CONFIG_T_LISTEN] = { "address", "ADDR:PORT [backlog=N]",
                          "an address like 127.0.0.1:8080, [::1]:8080, *:8080 or 8080", 1, 2 },
    [CONFIG_T_PATTERN] = { "regex list", "REGEX...", "an extended regular expression", 1,
                           CONFIG_PATTERN_MAX },
    [CONFIG_T_MODE] = { "octal mode", "MODE", "an octal mode like 0644", 1, 1 },
    [CONFIG_T_CIDRS] = { "address list", "CIDR...",
                         "addresses or networks like 127.0.0.0/8, ::1, 10.0.0.0/8",
                         1, CONFIG_CIDR_MAX },
};
static_assert(ARRAY_LEN(config_types) == CONFIG_T__COUNT, "one entry per config_type");

/* Wire names in enum http1_method order; OTHER is not a name one can allow. */
static const char *const config_method_names[] = {
    [HTTP1_METHOD_GET] = "GET",         [HTTP1_METHOD_HEAD] = "HEAD",
    [HTTP1_METHOD_POST] = "POST",       [HTTP1_METHOD_PUT] = "PUT",
    [HTTP1_METHOD_DELETE] = "DELETE",   [HTTP1_METHOD_OPTIONS] = "OPTIONS",
    [HTTP1_METHOD_TRACE] = "TRACE",     [HTTP1_METHOD_CONNECT] = "CONNECT",
    [HTTP1_METHOD_PATCH] = "PATCH",     [HTTP1_METHOD_OTHER] = NULL,
};
static_assert(ARRAY_LEN(config_method_names) == HTTP1_METHOD_COUNT, "one name per method");

static const char *const config_linger_names[] = {
    [CONFIG_LINGER_ON] = "on",
    [CONFIG_LINGER_ALWAYS] = "always",
    [CONFIG_LINGER_OFF] = "off",
    NULL,
};
static_assert(ARRAY_LEN(config_linger_names) == CONFIG_LINGER_OFF + 2, "one name per value");

const char *config_linger_name(enum config_linger l)
{
    return (unsigned)l <= CONFIG_LINGER_OFF ? config_linger_names[l] : "?";
}

static const char *const config_log_level_names[] = {
    [LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
    NULL,
};
static_assert(ARRAY_LEN(config_log_level_names) == LOG_LEVEL_COUNT + 1, "one name per level");

/* status_path, metrics_path: a path to match exactly, or "" for off. */
static int config_check_url_path(const char *value, char *err, size_t errlen)
{
    if (value[0] != '\0' && value[0] != '/') {
        snprintf(err, errlen, "must start with '/' (or be \"\" for off)");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        if (*p == '?' || *p == '%' || *p == '#' || (unsigned char)*p <= ' ') {
            snprintf(err, errlen, "must be a plain path, without '%c'", *p > ' ' ? *p : ' ');
            return -1;
        }
    }
    return 0;
}

#define CONFIG_F_ROUND_S 1u /* round up to whole seconds: the kernel option counts seconds */

struct config_directive {
    const char *name;
    enum config_type type;
    size_t main_off, main_size; /* main_size 0: not allowed at main level */
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

#define MAIN(f) .main_off = offsetof(struct config, f), .main_size = sizeof(((struct config *)0)->f)
#define LOC(f)                                                                                   \
    .loc_off = offsetof(struct config_location, f),                                            \
    .loc_size = sizeof(((struct config_location *)0)->f)

#define G_SERVE "Listening and serving"
#define G_LIMIT "Request limits"
#define G_TIME "Timeouts and keep-alive"
#define G_CLOSE "The close"
#define G_LOG "Logs and status"
#define G_LOC "Per location"
#define G_PROC "Processes"

/* The single source of truth. Order is the order of the reference. */
static const struct config_directive config_directives[] = {
    { .name = "listen", .type = CONFIG_T_LISTEN, MAIN(listens),
      .count_off = offsetof(struct config, listen_count), .def = "127.0.0.1:8080",
      .min = 1, .max = 65535, .group = G_SERVE,
      .help = "Address to accept on; a bare PORT means every IPv4 address; backlog=N sets the "
              "listen(2) queue (default 511); the default applies only if no listen is given" },
    { .name = "root", .type = CONFIG_T_PATH, MAIN(root), .def = "www", .group = G_SERVE,
      .help = "Directory served and written; relative paths are from the working directory" },
    { .name = "index", .type = CONFIG_T_STRING, MAIN(index), .def = "index.html",
      .args = "NAME", .group = G_SERVE,
      .help = "File served for a request whose path names a directory" },
    { .name = "mime_types_file", .type = CONFIG_T_STRING, MAIN(mime_types_file),
      .def = "/etc/mime.types", .args = "PATH", .group = G_SERVE,
      .help = "Extension-to-type map in mime.types(5) format; an empty string loads none" },
    { .name = "server_name", .type = CONFIG_T_STRING, MAIN(server_name), .def = "lingerd",
      .args = "NAME", .group = G_SERVE,
      .help = "Value of the Server response field" },

    { .name = "master_process", .type = CONFIG_T_BOOL, MAIN(master_process), .def = "on",
      .group = G_PROC,
      .help = "Run a master that supervises worker processes; off serves from one process "
              "(no reload, no restarts: for debugging and benchmarks)" },
    { .name = "workers", .type = CONFIG_T_NUMBER, MAIN(workers), .def = "0", .min = 0,
      .max = 128, .args = "N", .group = G_PROC,
      .help = "Worker processes, each with its own event loop; 0 means one per core" },
    { .name = "user", .type = CONFIG_T_STRING, MAIN(user), .args = "NAME", .group = G_PROC,
      .help = "Started as root, workers switch to this user after the sockets are bound" },
    { .name = "group", .type = CONFIG_T_STRING, MAIN(group), .args = "NAME", .group = G_PROC,
      .help = "Group for the workers (default: the user's primary group)" },
    { .name = "run_as_root", .type = CONFIG_T_BOOL, MAIN(run_as_root), .def = "off",
      .group = G_PROC,
      .help = "Allow workers to keep root when no user is set (refused otherwise)" },
    { .name = "pid_file", .type = CONFIG_T_PATH, MAIN(pid_file), .group = G_PROC,
      .help = "Write the master's PID here; lingerd -s reads it to send signals" },
    { .name = "shutdown_timeout", .type = CONFIG_T_DURATION, MAIN(shutdown_timeout_ms),
      .def = "30s", .min = 10, .max = MS_H, .group = G_PROC,
      .help = "Grace period of a graceful stop or reload: what is still open then is closed" },
    { .name = "shutdown_linger", .type = CONFIG_T_DURATION, MAIN(shutdown_linger_ms),
      .def = "1s", .min = 0, .max = MS_M, .group = G_PROC,
      .help = "Lingering time of connections closed by a graceful stop (shortened linger)" },
    { .name = "rlimit_nofile", .type = CONFIG_T_NUMBER, MAIN(rlimit_nofile), .def = "65536",
      .min = 0, .max = 1048576, .args = "N", .group = G_PROC,
      .help = "Raise RLIMIT_NOFILE to this at start (capped by the hard limit); 0 leaves it" },
    { .name = "worker_restart_delay_max", .type = CONFIG_T_DURATION,
      MAIN(worker_restart_delay_max_ms), .def = "10s", .min = 10, .max = MS_H, .group = G_PROC,
      .help = "Longest back-off before restarting a worker that keeps dying (doubles from "
              "100ms)" },

    { .name = "accept_retry_delay", .type = CONFIG_T_DURATION, MAIN(accept_retry_delay_ms),
      .def = "100ms", .min = 10, .max = 10 * MS_S, .group = G_SERVE,
      .help = "After EMFILE/ENFILE with no lingering connection to shed, how long accepting "
              "pauses before it tries again (no spinning on a ready listener)" },
    { .name = "defer_accept", .type = CONFIG_T_DURATION_OFF, MAIN(defer_accept_ms),
      .def = "1s", .min = MS_S, .max = MS_M, .flags = CONFIG_F_ROUND_S, .group = G_SERVE,
      .help = "TCP_DEFER_ACCEPT on the listeners (Apache's AcceptFilter http data, nginx's "
              "listen ... deferred): a connection is handed over with its first bytes, saving "
              "a wake-up and an epoll_ctl per connection. A client that connects and sends "
              "nothing is held by the kernel (no fd, no worker memory) until this expires, "
              "then accepted and timed by header_timeout; off hands every connection over "
              "at once" },
    { .name = "file_cache_entries", .type = CONFIG_T_NUMBER, MAIN(file_cache_entries),
      .def = "1024", .min = 0, .max = 1000000, .args = "N", .group = G_SERVE,
      .help = "Small files each worker keeps in memory with their headers; 0 turns the "
              "cache off" },
    { .name = "file_cache_valid", .type = CONFIG_T_DURATION, MAIN(file_cache_valid_ms),
      .def = "1s", .min = 0, .max = MS_H, .group = G_SERVE,
      .help = "How long a cached file is served before it is checked against the disk "
              "again" },
    { .name = "file_cache_file_max_bytes", .type = CONFIG_T_SIZE,
      MAIN(file_cache_file_max_bytes), .def = "16k", .min = 0, .max = 64 * MIB,
      .group = G_SERVE, .help = "Largest file kept in the cache; larger ones go by sendfile" },
    { .name = "upload_writeback_bytes", .type = CONFIG_T_SIZE, MAIN(upload_writeback_bytes),
      .def = "8m", .min = 0, .max = GIB, .group = G_SERVE,
      .help = "While an upload's body arrives, start writing it to disk every this many bytes "
              "(sync_file_range), so the fsync before the answer, which holds up the worker, "
              "has little left to do; 0 leaves everything to that fsync" },

    { .name = "request_line_max_bytes", .type = CONFIG_T_SIZE, MAIN(request_line_max_bytes),
      .def = "8k", .min = 256, .max = MIB, .group = G_LIMIT,
      .help = "Longest request line; a longer one gets 414" },
    { .name = "field_line_max_bytes", .type = CONFIG_T_SIZE, MAIN(field_line_max_bytes),
      .def = "8k", .min = 256, .max = MIB, .group = G_LIMIT,
      .help = "Longest single header field line; a longer one gets 431" },
    { .name = "header_max_bytes", .type = CONFIG_T_SIZE, MAIN(header_max_bytes), .def = "32k",
      .min = KIB, .max = MIB, .group = G_LIMIT,
      .help = "Largest request head; a larger one gets 431; at least request_line_max_bytes "
              "and field_line_max_bytes" },
    { .name = "header_fields_max", .type = CONFIG_T_NUMBER, MAIN(header_fields_max),
      .def = "100", .min = 1, .max = 10000, .group = G_LIMIT,
      .help = "Most field lines in one request head; more gets 431" },
    { .name = "chunk_line_max_bytes", .type = CONFIG_T_SIZE, MAIN(chunk_line_max_bytes),
      .def = "4k", .min = 64, .max = 64 * KIB, .group = G_LIMIT,
      .help = "Longest chunk-size line (with extensions) of a chunked body" },
    { .name = "trailer_max_bytes", .type = CONFIG_T_SIZE, MAIN(trailer_max_bytes), .def = "8k",
      .min = 0, .max = MIB, .group = G_LIMIT,
      .help = "Largest trailer section after a chunked body" },
    { .name = "discard_body_max_bytes", .type = CONFIG_T_SIZE, MAIN(discard_body_max_bytes),
      .def = "64k", .min = 0, .max = GIB, .group = G_LIMIT,
      .help = "A refused request's body up to this size is read and discarded to keep the "
              "connection; a larger one ends it through the lingering close" },
    { .name = "pipeline_max_bytes", .type = CONFIG_T_SIZE, MAIN(pipeline_max_bytes),
      .def = "256k", .min = 4 * KIB, .max = 64 * MIB, .group = G_LIMIT,
      .help = "Response bytes queued before the server stops parsing pipelined requests "
              "until the client reads" },
    { .name = "connections_max", .type = CONFIG_T_NUMBER, MAIN(connections_max),
      .def = "10000", .min = 1, .max = 1000000, .group = G_LIMIT,
      .help = "Open connections per worker" },
    { .name = "ranges_max", .type = CONFIG_T_NUMBER, MAIN(ranges_max), .def = "16", .min = 1,
      .max = 1000, .group = G_LIMIT, .help = "Most ranges served for one Range field" },

    { .name = "multipart_max_bytes", .type = CONFIG_T_SIZE, MAIN(multipart_max_bytes),
      .def = "1m", .min = KIB, .max = 64 * MIB, .group = G_LIMIT,
      .help = "Largest multipart/byteranges body built for several ranges; past it the "
              "whole file is sent (200)" },

    { .name = "header_timeout", .type = CONFIG_T_DURATION, MAIN(header_timeout_ms),
      .def = "20s", .min = 10, .max = MS_H, .group = G_TIME,
      .help = "Total time allowed for a request head, however slowly it trickles in" },
    { .name = "body_timeout", .type = CONFIG_T_DURATION, MAIN(body_timeout_ms), .def = "60s",
      .min = 10, .max = MS_H, .group = G_TIME,
      .help = "Longest wait between two reads of a request body" },
    { .name = "body_min_rate", .type = CONFIG_T_SIZE, MAIN(body_min_rate), .def = "500",
      .min = 0, .max = GIB, .args = "BYTES", .group = G_TIME,
      .help = "Bytes per second a body must average after its first body_timeout (as "
              "Apache's mod_reqtimeout MinRate); slower uploads get 408; 0 turns it off" },
    { .name = "send_timeout", .type = CONFIG_T_DURATION, MAIN(send_timeout_ms), .def = "60s",
      .min = 10, .max = MS_H, .group = G_TIME,
      .help = "Longest wait between two writes that make progress" },
    { .name = "keepalive", .type = CONFIG_T_BOOL, MAIN(keepalive), LOC(keepalive),
      .def = "on", .group = G_TIME,
      .help = "Keep the connection open for further requests after a response" },
    { .name = "keepalive_timeout", .type = CONFIG_T_DURATION, MAIN(keepalive_timeout_ms),
      .def = "15s", .min = 10, .max = MS_H, .group = G_TIME,
      .help = "How long an idle kept-alive connection waits for the next request" },
    { .name = "keepalive_requests", .type = CONFIG_T_NUMBER, MAIN(keepalive_requests),
      .def = "1000", .min = 1, .max = 1000000000, .group = G_TIME,
      .help = "Requests served on one connection before it is closed" },
    { .name = "keepalive_header", .type = CONFIG_T_BOOL, MAIN(keepalive_header), .def = "on",
      .group = G_TIME, .help = "Send \"Keep-Alive: timeout=N\" with kept-alive responses" },
    { .name = "nokeepalive_user_agent", .type = CONFIG_T_PATTERN,
      MAIN(nokeepalive_user_agents), .count_off = offsetof(struct config, nokeepalive_count),
      .aux_off = offsetof(struct config, nokeepalive_re), .group = G_TIME,
      .help = "Deny keep-alive to clients whose User-Agent matches (POSIX extended regex, "
              "case-insensitive; repeatable, at most 16)" },

    { .name = "lingering_close", .type = CONFIG_T_ENUM, MAIN(lingering_close),
      LOC(lingering_close), .def = "on", .names = config_linger_names, .group = G_CLOSE,
      .help = "on: linger when the client may still be sending; always: after every close "
              "the server starts; off: plain close(), clients may see a reset" },
    { .name = "lingering_time", .type = CONFIG_T_DURATION, MAIN(lingering_time_ms),
      .def = "30s", .min = 10, .max = MS_H, .group = G_CLOSE,
      .help = "Total time a lingering close may keep reading and discarding" },
    { .name = "lingering_timeout", .type = CONFIG_T_DURATION, MAIN(lingering_timeout_ms),
      .def = "2s", .min = 10, .max = 10 * MS_M, .group = G_CLOSE,
      .help = "Longest wait for one read while lingering; silence this long ends it" },
    { .name = "lingering_max_bytes", .type = CONFIG_T_SIZE, MAIN(lingering_max_bytes),
      .def = "64m", .min = 0, .max = TIB, .group = G_CLOSE,
      .help = "Bytes discarded while lingering before giving up" },
    { .name = "lingering_max_conns", .type = CONFIG_T_NUMBER, MAIN(lingering_max_conns),
      .def = "4096", .min = 0, .max = 1000000, .group = G_CLOSE,
      .help = "Lingering connections per worker; past it the oldest is closed at once" },
    { .name = "idle_close_linger", .type = CONFIG_T_DURATION, MAIN(idle_close_linger_ms),
      .def = "1s", .min = 0, .max = MS_M, .group = G_CLOSE,
      .help = "Linger after closing an idle keep-alive connection, whose client may be "
              "sending a request; 0 closes at once" },
    { .name = "fin_wait2_timeout", .type = CONFIG_T_DURATION, MAIN(fin_wait2_timeout_ms),
      .def = "10s", .min = 0, .max = 10 * MS_M, .flags = CONFIG_F_ROUND_S, .group = G_CLOSE,
      .help = "FIN_WAIT_2 bound per socket (TCP_LINGER2, whole seconds, rounded up; "
              "Linux caps it at 120s); 0 keeps the kernel default" },
    { .name = "so_linger", .type = CONFIG_T_DURATION_OFF, MAIN(so_linger_ms), .def = "off",
      .min = MS_S, .max = MS_M, .flags = CONFIG_F_ROUND_S, .group = G_CLOSE,
      .help = "Set SO_LINGER before close (Apache's USE_SO_LINGER; whole seconds, rounded "
              "up); warning: close() may then block up to this long" },

    { .name = "access_log", .type = CONFIG_T_STRING, MAIN(access_log), .def = "stderr",
      .args = "PATH|stderr|off", .group = G_LOG,
      .help = "Where each response is logged; lines are buffered and written once per loop "
              "iteration; off logs nothing; SIGUSR1 reopens the file" },
    { .name = "access_log_format", .type = CONFIG_T_STRING, MAIN(access_log_format),
      .def = "combined", .args = "combined|json|FORMAT", .check = accesslog_format_check,
      .group = G_LOG,
      .help = "combined: the Combined Log Format plus the duration in ms and the close "
              "reason; json: one JSON object a line; else a format with $fields such as "
              "\"$remote_addr $status $request_time_ms\" (docs/status.md lists them)" },
    { .name = "error_log", .type = CONFIG_T_PATH, MAIN(error_log), .def = "stderr",
      .args = "PATH|stderr", .group = G_LOG,
      .help = "Where operators' messages go; SIGUSR1 reopens the file" },
    { .name = "log_level", .type = CONFIG_T_ENUM, MAIN(log_level), .def = "warn",
      .names = config_log_level_names, .group = G_LOG,
      .help = "Least severe error log messages written" },
    { .name = "status_path", .type = CONFIG_T_STRING, MAIN(status_path),
      .def = "/server-status", .args = "PATH", .check = config_check_url_path, .group = G_LOG,
      .help = "Path of the status page (HTML; ?auto for Apache's machine-readable form); "
              "\"\" turns it off" },
    { .name = "metrics_path", .type = CONFIG_T_STRING, MAIN(metrics_path), .def = "/metrics",
      .args = "PATH", .check = config_check_url_path, .group = G_LOG,
      .help = "Path of the Prometheus metrics; \"\" turns it off" },
    { .name = "status_allow", .type = CONFIG_T_CIDRS, MAIN(status_allow),
      .count_off = offsetof(struct config, status_allow_count), .def = "127.0.0.0/8 ::1",
      .group = G_LOG,
      .help = "Clients allowed to read status_path and metrics_path (repeatable, at most 32 "
              "in all); others get 403; the default applies only if none is given" },

    { .name = "methods", .type = CONFIG_T_METHODS, MAIN(methods), LOC(methods),
      .def = "GET HEAD OPTIONS", .group = G_LOC,
      .help = "Methods allowed; the others get 405" },
    { .name = "auth_basic", .type = CONFIG_T_STRING, LOC(auth_realm), .args = "REALM",
      .group = G_LOC, .help = "Require HTTP Basic authentication, with this realm" },
    { .name = "auth_user_file", .type = CONFIG_T_PATH, LOC(auth_user_file), .group = G_LOC,
      .help = "htpasswd file of the users auth_basic accepts (bcrypt, SHA-512 or yescrypt)" },
    { .name = "auth_cache_time", .type = CONFIG_T_DURATION, MAIN(auth_cache_time_ms),
      .def = "60s", .min = 0, .max = MS_H, .group = G_LOC,
      .help = "How long a verified Basic credential skips crypt(3) (bcrypt is slow on "
              "purpose and a worker is one thread); 0 checks every request" },
    { .name = "body_max_bytes", .type = CONFIG_T_SIZE, MAIN(body_max_bytes),
      LOC(body_max_bytes), .def = "1m", .min = 0, .max = TIB, .group = G_LOC,
      .help = "Largest request body accepted; a larger one gets 413" },
    { .name = "create_dirs", .type = CONFIG_T_BOOL, MAIN(create_dirs), LOC(create_dirs),
      .def = "off", .group = G_LOC, .help = "Let uploads create missing parent directories" },
    { .name = "file_mode", .type = CONFIG_T_MODE, MAIN(file_mode), LOC(file_mode),
      .def = "0644", .min = 0, .max = 0777, .group = G_LOC,
      .help = "Permission bits of files created by uploads (the umask still applies)" },
};
#define CONFIG_DIRECTIVES ARRAY_LEN(config_directives)
static_assert(CONFIG_DIRECTIVES <= 64, "set_mask has one bit per directive");

/* ---- the table ---------------------------------------------------------- */

size_t config_directive_count(void)
{
    return CONFIG_DIRECTIVES;
}

const char *config_directive_name(size_t i)
{
    return i < CONFIG_DIRECTIVES ? config_directives[i].name : NULL;
}

const char *config_directive_default(size_t i)
{
    return i < CONFIG_DIRECTIVES ? config_directives[i].def : NULL;
}

static const struct config_directive *config_directive_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++)
        if (strcmp(config_directives[i].name, name) == 0)
            return &config_directives[i];
    return NULL;
}

static uint64_t config_directive_bit(const struct config_directive *d)
{
    return 1ull << (d - config_directives);
}

static bool config_is_repeatable(const struct config_directive *d)
{
    return d->type == CONFIG_T_LISTEN || d->type == CONFIG_T_PATTERN || d->type == CONFIG_T_CIDRS;
}

static bool config_is_string(const struct config_directive *d)
{
    return d->type == CONFIG_T_STRING || d->type == CONFIG_T_PATH;
}

/* Levenshtein distance of two short names; SIZE_MAX past 63 characters. */
static size_t config_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (la >= ARRAY_LEN(row) || lb >= ARRAY_LEN(row))
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest known name (distance <= 2, else one that starts with what was
 * typed), or NULL. "include" and "location" are names too. */
static const char *config_suggest(const char *typed)
{
    static const char *const extra[] = { "include", "location" };
    const char *best = NULL, *prefixed = NULL;
    size_t best_d = 3, n = strlen(typed);

    for (size_t i = 0; i < CONFIG_DIRECTIVES + ARRAY_LEN(extra); i++) {
        const char *name = i < CONFIG_DIRECTIVES ? config_directives[i].name
                                                 : extra[i - CONFIG_DIRECTIVES];
        size_t d = config_distance(typed, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
        if (!prefixed && n >= 3 && strncmp(name, typed, n) == 0)
            prefixed = name;
    }
    return best ? best : prefixed;
}

/* ---- values ------------------------------------------------------------- */

static bool config_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Decimal digits at *s (at least one), overflow-checked; *s moves past them. */
static int config_parse_digits(const char **s, unsigned base, uint64_t *v)
{
    const char *p = *s;
    uint64_t n = 0;

    if (!config_is_digit(*p) || (unsigned)(*p - '0') >= base)
        return -1;
    for (; config_is_digit(*p) && (unsigned)(*p - '0') < base; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - digit) / base)
            return -1;
        n = n * base + digit;
    }
    *s = p;
    *v = n;
    return 0;
}

static int config_scale(uint64_t n, uint64_t unit, uint64_t *out)
{
    if (n > UINT64_MAX / unit)
        return -1;
    *out = n * unit;
    return 0;
}

/* A unit is required (a bare "30" could mean seconds or ms), except for 0. */
int config_parse_duration_ms(const char *s, uint64_t *ms)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units[] = { { "ms", 1 }, { "s", MS_S }, { "m", MS_M }, { "h", MS_H } };
    uint64_t n;

    if (config_parse_digits(&s, 10, &n) < 0)
        return -1;
    if (*s == '\0') {
        if (n != 0)
            return -1;
        *ms = 0;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
        if (strcmp(s, units[i].suffix) == 0)
            return config_scale(n, units[i].ms, ms);
    return -1;
}

int config_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t n, unit;

    if (config_parse_digits(&s, 10, &n) < 0)
        return -1;
    switch (*s) {
    case '\0': unit = 1; break;
    case 'k': case 'K': unit = KIB; break;
    case 'm': case 'M': unit = MIB; break;
    case 'g': case 'G': unit = GIB; break;
    case 't': case 'T': unit = TIB; break;
    default: return -1;
    }
    if (*s != '\0' && s[1] != '\0')
        return -1;
    return config_scale(n, unit, bytes);
}

/* Text output into a fixed buffer; overflow is remembered, never a crash. */
struct config_out {
    char *buf;
    size_t cap, len;
    bool overflow;
};

__attribute__((format(printf, 2, 3)))
static void config_out_add(struct config_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        o->len = o->cap - 1;
        return;
    }
    o->len += (size_t)n;
}

/* The largest unit that divides exactly, so bounds read as they were written. */
static void config_format_duration(struct config_out *o, uint64_t ms)
{
    if (ms == 0)
        config_out_add(o, "0");
    else if (ms % MS_H == 0)
        config_out_add(o, "%lluh", (unsigned long long)(ms / MS_H));
    else if (ms % MS_M == 0)
        config_out_add(o, "%llum", (unsigned long long)(ms / MS_M));
    else if (ms % MS_S == 0)
        config_out_add(o, "%llus", (unsigned long long)(ms / MS_S));
    else
        config_out_add(o, "%llums", (unsigned long long)ms);
}

static void config_format_size(struct config_out *o, uint64_t n)
{
    static const struct {
        char suffix;
        uint64_t unit;
    } units[] = { { 't', TIB }, { 'g', GIB }, { 'm', MIB }, { 'k', KIB } };

    for (size_t i = 0; n != 0 && i < ARRAY_LEN(units); i++) {
        if (n % units[i].unit == 0) {
            config_out_add(o, "%llu%c", (unsigned long long)(n / units[i].unit),
                           units[i].suffix);
            return;
        }
    }
    config_out_add(o, "%llu", (unsigned long long)n);
}

/* A number of the row's type in the row's units. */
static void config_format_number(struct config_out *o, const struct config_directive *d,
                                 uint64_t v)
{
    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF: config_format_duration(o, v); break;
    case CONFIG_T_SIZE: config_format_size(o, v); break;
    case CONFIG_T_MODE: config_out_add(o, "%#llo", (unsigned long long)v); break;
    default: config_out_add(o, "%llu", (unsigned long long)v); break;
    }
}

static void config_format_bounds(struct config_out *o, const struct config_directive *d)
{
    config_format_number(o, d, d->min);
    config_out_add(o, "..");
    config_format_number(o, d, d->max);
}

static void config_put_uint(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case 8: memcpy(p, &v, 8); break;
    default: assert(0 && "field size");
    }
}

static uint64_t config_get_uint(const void *p, size_t size)
{
    switch (size) {
    case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    case 8: { uint64_t x; memcpy(&x, p, 8); return x; }
    default: assert(0 && "field size"); return 0;
    }
}

static int config_bad_value(const struct config_directive *d, const char *arg, char *err,
                            size_t errlen)
{
    const char *expected = config_types[d->type].expected;

    if (d->type == CONFIG_T_ENUM) {
        char list[128];
        struct config_out o = { list, sizeof list, 0, false };
        for (size_t i = 0; d->names[i]; i++)
            config_out_add(&o, "%s%s", i ? ", " : "", d->names[i]);
        snprintf(err, errlen, "bad value '%s' for '%s': expected one of %s", arg, d->name, list);
    } else {
        snprintf(err, errlen, "bad value '%s' for '%s': expected %s", arg, d->name, expected);
    }
    return -1;
}

static int config_check_bounds(const struct config_directive *d, uint64_t v, const char *arg,
                               char *err, size_t errlen)
{
    char bounds[64];
    struct config_out o = { bounds, sizeof bounds, 0, false };

    if (v >= d->min && v <= d->max)
        return 0;
    config_format_bounds(&o, d);
    snprintf(err, errlen, "'%s' value '%s' is out of bounds (%s)", d->name, arg, bounds);
    return -1;
}

static uint64_t config_round_up_s(uint64_t ms)
{
    return (ms + MS_S - 1) / MS_S * MS_S;
}

/* "127.0.0.1:8080", "[::1]:8080", "*:8080", "8080", then an optional backlog=N. */
static int config_parse_listen(const struct config_directive *d, struct config_listen *l,
                               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const char *arg = args[0], *port_text;
    char host[64];
    uint64_t port, backlog = CONFIG_BACKLOG_DEFAULT;

    memset(l, 0, sizeof *l);
    if (strlen(arg) >= sizeof l->text)
        return config_bad_value(d, arg, err, errlen);
    if (arg[0] == '[') {
        const char *end = strstr(arg, "]:");
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
        size_t n = end ? (size_t)(end - arg - 1) : 0;
        if (!end || n >= sizeof host)
            return config_bad_value(d, arg, err, errlen);
        memcpy(host, arg + 1, n);
        host[n] = '\0';
        sin6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return config_bad_value(d, arg, err, errlen);
        l->addr_len = sizeof *sin6;
        port_text = end + 2;
    } else {
        const char *colon = strrchr(arg, ':');
        struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        port_text = arg;
        if (colon) {
            size_t n = (size_t)(colon - arg);
            if (n >= sizeof host)
                return config_bad_value(d, arg, err, errlen);
            memcpy(host, arg, n);
            host[n] = '\0';
            if (strcmp(host, "*") != 0 && inet_pton(AF_INET, host, &sin->sin_addr) != 1)
                return config_bad_value(d, arg, err, errlen);
            port_text = colon + 1;
        }
        l->addr_len = sizeof *sin;
    }
    if (config_parse_digits(&port_text, 10, &port) < 0 || *port_text != '\0')
        return config_bad_value(d, arg, err, errlen);
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "'%s' port in '%s' is out of bounds (1..65535)", d->name, arg);
        return -1;
    }
    /* sin_port and sin6_port sit at the same offset, but say which we mean */
    if (l->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&l->addr)->sin_port = htons((uint16_t)port);

    if (nargs == 2) {
        const char *p = args[1];
        if (strncmp(p, "backlog=", 8) != 0 || (p += 8, config_parse_digits(&p, 10, &backlog)) < 0
            || *p != '\0') {
            snprintf(err, errlen, "bad value '%s' for '%s': expected backlog=N", args[1],
                     d->name);
            return -1;
        }
        if (backlog < d->min || backlog > d->max) {
            snprintf(err, errlen, "'%s' value '%s' is out of bounds (backlog=1..65535)",
                     d->name, args[1]);
            return -1;
        }
    }
    l->backlog = (int)backlog;
    snprintf(l->text, sizeof l->text, "%s", arg);
    return 0;
}

static int config_add_listen(struct config *cfg, const struct config_directive *d,
                             const char *const *args, size_t nargs, char *err, size_t errlen)
{
    struct config_listen l;

    if (config_parse_listen(d, &l, args, nargs, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const struct config_listen *o = &cfg->listens[i];
        if (o->addr_len == l.addr_len && memcmp(&o->addr, &l.addr, l.addr_len) == 0) {
            snprintf(err, errlen, "duplicate listen address '%s' (same as '%s')", l.text,
                     o->text);
            return -1;
        }
    }
    if (cfg->listen_count == CONFIG_LISTEN_MAX) {
        snprintf(err, errlen, "too many '%s' directives (max %d)", d->name, CONFIG_LISTEN_MAX);
        return -1;
    }
    cfg->listens[cfg->listen_count++] = l;
    return 0;
}

/* Compiled here rather than in config_finish so a bad pattern is reported
 * with its FILE:LINE, and so the strings and the regexes always pair up. */
static int config_add_patterns(struct config *cfg, const struct config_directive *d,
                               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    char **strs = (char **)((char *)cfg + d->main_off);
    regex_t *res = (regex_t *)((char *)cfg + d->aux_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);

    for (size_t i = 0; i < nargs; i++) {
        int rc;
        if (*count == CONFIG_PATTERN_MAX) {
            snprintf(err, errlen, "too many '%s' patterns (max %d)", d->name,
                     CONFIG_PATTERN_MAX);
            return -1;
        }
        rc = regcomp(&res[*count], args[i], REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &res[*count], why, sizeof why);
            snprintf(err, errlen, "bad value '%s' for '%s': %s", args[i], d->name, why);
            return -1;
        }
        strs[*count] = strdup(args[i]);
        if (!strs[*count]) {
            regfree(&res[*count]);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        (*count)++;
    }
    return 0;
}

/* "127.0.0.0/8", "10.1.2.3", "::1", "fd00::/8"; bits past the prefix are
 * cleared, so "10.1.2.3/8" means 10.0.0.0/8. */
static int config_parse_cidr(const struct config_directive *d, const char *arg,
                             struct config_cidr *out, char *err, size_t errlen)
{
    char host[64];
    const char *slash = strchr(arg, '/');
    size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
    uint64_t bits;

    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof host)
        return config_bad_value(d, arg, err, errlen);
    memcpy(host, arg, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = 6;
    else
        return config_bad_value(d, arg, err, errlen);
    bits = out->family == 4 ? 32 : 128;
    if (slash) {
        const char *p = slash + 1;
        uint64_t max = bits;
        if (config_parse_digits(&p, 10, &bits) < 0 || *p != '\0' || bits > max)
            return config_bad_value(d, arg, err, errlen);
    }
    out->prefix_bits = (uint8_t)bits;
    for (size_t i = 0; i < 16; i++) {
        size_t first = i * 8;
        if (first >= bits)
            out->addr[i] = 0;
        else if (bits - first < 8)
            out->addr[i] &= (uint8_t)(0xff00u >> (bits - first));
    }
    return 0;
}

static int config_add_cidrs(struct config *cfg, const struct config_directive *d,
                            const char *const *args, size_t nargs, char *err, size_t errlen)
{
    struct config_cidr *list = (struct config_cidr *)((char *)cfg + d->main_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);

    for (size_t i = 0; i < nargs; i++) {
        if (*count == CONFIG_CIDR_MAX) {
            snprintf(err, errlen, "too many '%s' addresses (max %d)", d->name, CONFIG_CIDR_MAX);
            return -1;
        }
        if (config_parse_cidr(d, args[i], &list[*count], err, errlen) < 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static int config_parse_methods(const struct config_directive *d, unsigned *mask,
                                const char *const *args, size_t nargs, char *err, size_t errlen)
{
    *mask = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t m;
        for (m = 0; m < HTTP1_METHOD_COUNT; m++)
            if (config_method_names[m] && strcmp(args[i], config_method_names[m]) == 0)
                break;
        if (m == HTTP1_METHOD_COUNT)
            return config_bad_value(d, args[i], err, errlen);
        *mask |= 1u << m;
    }
    return 0;
}

/* Parse args as d's type and store them in the field at base + off. */
static int config_store(struct config *cfg, const struct config_directive *d, char *base,
                        size_t off, size_t size, const char *const *args, size_t nargs,
                        char *err, size_t errlen)
{
    void *field = base + off;
    const char *arg = args[0];
    uint64_t v;

    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF:
        if (d->type == CONFIG_T_DURATION_OFF && strcmp(arg, "off") == 0) {
            int64_t off_value = -1;
            memcpy(field, &off_value, sizeof off_value);
            return 0;
        }
        if (config_parse_duration_ms(arg, &v) < 0)
            return config_bad_value(d, arg, err, errlen);
        if (config_check_bounds(d, v, arg, err, errlen) < 0)
            return -1;
        if (d->flags & CONFIG_F_ROUND_S)
            v = config_round_up_s(v);
        config_put_uint(field, size, v);
        return 0;
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: {
        const char *p = arg;
        int rc = d->type == CONFIG_T_SIZE ? config_parse_size(arg, &v)
               : config_parse_digits(&p, d->type == CONFIG_T_MODE ? 8 : 10, &v);
        if (rc < 0 || (d->type != CONFIG_T_SIZE && *p != '\0'))
            return config_bad_value(d, arg, err, errlen);
        if (config_check_bounds(d, v, arg, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, v);
        return 0;
    }
    case CONFIG_T_BOOL:
        if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
            return config_bad_value(d, arg, err, errlen);
        *(bool *)field = strcmp(arg, "on") == 0;
        return 0;
    case CONFIG_T_STRING:
    case CONFIG_T_PATH: {
        char *s;
        if (d->type == CONFIG_T_PATH && arg[0] == '\0')
            return config_bad_value(d, arg, err, errlen);
        if (d->check) {
            char why[CONFIG_ERR_MAX / 2];
            if (d->check(arg, why, sizeof why) < 0) {
                snprintf(err, errlen, "bad value '%s' for '%s': %s", arg, d->name, why);
                return -1;
            }
        }
        s = strdup(arg);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case CONFIG_T_ENUM:
        for (v = 0; d->names[v]; v++) {
            if (strcmp(arg, d->names[v]) == 0) {
                config_put_uint(field, size, v);
                return 0;
            }
        }
        return config_bad_value(d, arg, err, errlen);
    case CONFIG_T_METHODS: {
        unsigned mask;
        if (config_parse_methods(d, &mask, args, nargs, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, mask);
        return 0;
    }
    case CONFIG_T_LISTEN:
        return config_add_listen(cfg, d, args, nargs, err, errlen);
    case CONFIG_T_PATTERN:
        return config_add_patterns(cfg, d, args, nargs, err, errlen);
    case CONFIG_T_CIDRS:
        return config_add_cidrs(cfg, d, args, nargs, err, errlen);
    case CONFIG_T__COUNT:
        break;
    }
    assert(0 && "directive type");
    return -1;
}

/* A both-scope value from main into a location that did not set it. */
static int config_inherit(const struct config_directive *d, const struct config *cfg,
                          struct config_location *loc)
{
    const char *src = (const char *)cfg + d->main_off;
    char *dst = (char *)loc + d->loc_off;

    assert(d->main_size == d->loc_size);
    if (config_is_string(d)) {
        const char *s = *(char *const *)src;
        char *copy = s ? strdup(s) : NULL;
        if (s && !copy)
            return -ENOMEM;
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    memcpy(dst, src, d->loc_size);
    return 0;
}

int config_set(struct config *cfg, struct config_location *loc, const char *name,
               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const struct config_directive *d = config_directive_find(name);
    const struct config_type_info *t;

    if (!d) {
        const char *hint = config_suggest(name);
        if (hint)
            snprintf(err, errlen, "unknown directive '%s', did you mean '%s'?", name, hint);
        else
            snprintf(err, errlen, "unknown directive '%s'", name);
        return -1;
    }
    if (loc && d->loc_size == 0) {
        snprintf(err, errlen, "'%s' is not allowed inside location", name);
        return -1;
    }
    if (!loc && d->main_size == 0) {
        snprintf(err, errlen, "'%s' is only allowed inside location", name);
        return -1;
    }
    t = &config_types[d->type];
    if (nargs < t->nargs_min || nargs > t->nargs_max) {
        char synopsis[128];
        struct config_out o = { synopsis, sizeof synopsis, 0, false };
        if (d->args)
            config_out_add(&o, "%s", d->args);
        else if (t->synopsis)
            config_out_add(&o, "%s", t->synopsis);
        else
            for (size_t i = 0; d->names[i]; i++)
                config_out_add(&o, "%s%s", i ? "|" : "", d->names[i]);
        snprintf(err, errlen, "wrong number of arguments for '%s' (usage: %s %s)", name, name,
                 synopsis);
        return -1;
    }
    if (loc) {
        if (config_store(cfg, d, (char *)loc, d->loc_off, d->loc_size, args, nargs, err,
                         errlen) < 0)
            return -1;
        loc->set_mask |= config_directive_bit(d);
        return 0;
    }
    return config_store(cfg, d, (char *)cfg, d->main_off, d->main_size, args, nargs, err,
                        errlen);
}

/* Split a default ("GET HEAD OPTIONS") into words and set it like the file. */
static int config_set_default(struct config *cfg, struct config_location *loc,
                              const struct config_directive *d)
{
    char text[128], err[CONFIG_ERR_MAX], *save = NULL;
    const char *args[CONFIG_WORDS_MAX];
    size_t n = 0;

    assert(strlen(d->def) < sizeof text);
    snprintf(text, sizeof text, "%s", d->def);
    for (char *w = strtok_r(text, " ", &save); w && n < CONFIG_WORDS_MAX;
         w = strtok_r(NULL, " ", &save))
        args[n++] = w;
    if (config_set(cfg, loc, d->name, args, n, err, sizeof err) < 0) {
        assert(strcmp(err, "out of memory") == 0); /* a default that does not parse is our bug */
        return strcmp(err, "out of memory") == 0 ? -ENOMEM : -EINVAL;
    }
    return 0;
}

int config_init_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        int rc;
        /* the bounds must fit the field: a 1t maximum in a uint32_t would wrap */
        assert(d->main_size == 0 || d->main_size >= 8 || d->max < 1ull << (8 * d->main_size));
        if (!d->def || d->main_size == 0 || config_is_repeatable(d))
            continue; /* repeatable defaults apply in config_finish, if none was given */
        rc = config_set_default(cfg, NULL, d);
        if (rc < 0) {
            config_fini(cfg);
            return rc;
        }
    }
    return 0;
}

static void config_location_fini(struct config_location *loc)
{
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->loc_size && config_is_string(d))
            free(*(char **)((char *)loc + d->loc_off));
    }
    free(loc->prefix);
    free(loc->where);
    free(loc->auth_user_file_where);
    if (loc->users)
        auth_users_free(loc->users);
    memset(loc, 0, sizeof *loc);
}

void config_fini(struct config *cfg)
{
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->main_size && config_is_string(d))
            free(*(char **)((char *)cfg + d->main_off));
    }
    for (size_t i = 0; i < cfg->nokeepalive_count; i++) {
        free(cfg->nokeepalive_user_agents[i]);
        regfree(&cfg->nokeepalive_re[i]);
    }
    for (size_t i = 0; i < cfg->location_count; i++)
        config_location_fini(&cfg->locations[i]);
    memset(cfg, 0, sizeof *cfg);
}

static struct config_location *config_location_find(struct config *cfg, const char *prefix)
{
    for (size_t i = 0; i < cfg->location_count; i++)
        if (strcmp(cfg->locations[i].prefix, prefix) == 0)
            return &cfg->locations[i];
    return NULL;
}

struct config_location *config_add_location(struct config *cfg, const char *prefix, char *err,
                                            size_t errlen)
{
    struct config_location *loc;

    if (prefix[0] != '/') {
        snprintf(err, errlen, "location prefix must start with '/': '%s'", prefix);
        return NULL;
    }
    if (config_location_find(cfg, prefix)) {
        snprintf(err, errlen, "duplicate location '%s'", prefix);
        return NULL;
    }
    if (cfg->location_count == CONFIG_LOCATION_MAX) {
        snprintf(err, errlen, "too many locations (max %d)", CONFIG_LOCATION_MAX);
        return NULL;
    }
    loc = &cfg->locations[cfg->location_count];
    memset(loc, 0, sizeof *loc);
    loc->prefix = strdup(prefix);
    if (!loc->prefix) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    loc->prefix_len = strlen(prefix);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        if (d->def && d->loc_size && !d->main_size && config_set_default(cfg, loc, d) < 0) {
            config_location_fini(loc);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    loc->set_mask = 0; /* defaults are not "set in this block" */
    cfg->location_count++;
    return loc;
}

int config_format_value(const struct config *cfg, const struct config_location *loc,
                        const char *name, char *buf, size_t len)
{
    const struct config_directive *d = config_directive_find(name);
    struct config_out o = { buf, len, 0, false };
    const char *field;
    size_t size;

    if (!d || len == 0)
        return -1;
    field = loc ? (const char *)loc + d->loc_off : (const char *)cfg + d->main_off;
    size = loc ? d->loc_size : d->main_size;
    if (size == 0)
        return -1;
    buf[0] = '\0';
    switch (d->type) {
    case CONFIG_T_DURATION_OFF: {
        int64_t v;
        memcpy(&v, field, sizeof v);
        if (v < 0)
            config_out_add(&o, "off");
        else
            config_format_duration(&o, (uint64_t)v);
        break;
    }
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: config_format_number(&o, d, config_get_uint(field, size)); break;
    case CONFIG_T_BOOL: config_out_add(&o, "%s", *(const bool *)field ? "on" : "off"); break;
    case CONFIG_T_STRING:
    case CONFIG_T_PATH: {
        const char *s = *(char *const *)field;
        config_out_add(&o, "%s", s ? s : "");
        break;
    }
    case CONFIG_T_ENUM: config_out_add(&o, "%s", d->names[config_get_uint(field, size)]); break;
    case CONFIG_T_METHODS: {
        uint64_t mask = config_get_uint(field, size);
        const char *sep = "";
        for (size_t m = 0; m < HTTP1_METHOD_COUNT; m++) {
            if (mask & (1u << m) && config_method_names[m]) {
                config_out_add(&o, "%s%s", sep, config_method_names[m]);
                sep = " ";
            }
        }
        break;
    }
    case CONFIG_T_LISTEN:
        for (size_t i = 0; i < cfg->listen_count; i++) {
            config_out_add(&o, "%s%s", i ? "\n" : "", cfg->listens[i].text);
            if (cfg->listens[i].backlog != CONFIG_BACKLOG_DEFAULT)
                config_out_add(&o, " backlog=%d", cfg->listens[i].backlog);
        }
        break;
    case CONFIG_T_PATTERN:
        for (size_t i = 0; i < cfg->nokeepalive_count; i++)
            config_out_add(&o, "%s%s", i ? "\n" : "", cfg->nokeepalive_user_agents[i]);
        break;
    case CONFIG_T_CIDRS: {
        const struct config_cidr *list = (const struct config_cidr *)field;
        size_t count = *(const size_t *)((const char *)cfg + d->count_off);
        for (size_t i = 0; i < count; i++) {
            char text[INET6_ADDRSTRLEN];
            bool host = list[i].prefix_bits == (list[i].family == 4 ? 32 : 128);
            inet_ntop(list[i].family == 4 ? AF_INET : AF_INET6, list[i].addr, text, sizeof text);
            config_out_add(&o, "%s%s", i ? " " : "", text);
            if (!host)
                config_out_add(&o, "/%u", list[i].prefix_bits);
        }
        break;
    }
    case CONFIG_T__COUNT: break;
    }
    return o.overflow ? -1 : 0;
}

/* ---- finishing ---------------------------------------------------------- */

static const struct config_directive *config_directive_at(size_t off)
{
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++)
        if (config_directives[i].main_size && config_directives[i].main_off == off)
            return &config_directives[i];
    return NULL;
}

/* a >= b for two size rows, else print why. */
static int config_check_at_least(const struct config *cfg, size_t off_a, size_t off_b,
                                 FILE *errs)
{
    const struct config_directive *a = config_directive_at(off_a), *b = config_directive_at(off_b);
    uint64_t va = config_get_uint((const char *)cfg + off_a, a->main_size);
    uint64_t vb = config_get_uint((const char *)cfg + off_b, b->main_size);
    char ta[32], tb[32];
    struct config_out oa = { ta, sizeof ta, 0, false }, ob = { tb, sizeof tb, 0, false };

    if (va >= vb)
        return 0;
    config_format_number(&oa, a, va);
    config_format_number(&ob, b, vb);
    fprintf(errs, "%s %s is smaller than %s %s\n", a->name, ta, b->name, tb);
    return -1;
}

/* [0] is "/"; the rest by prefix length, longest first, so the first match wins. */
static void config_order_locations(struct config *cfg)
{
    struct config_location tmp;

    for (size_t i = 0; i < cfg->location_count; i++) {
        if (strcmp(cfg->locations[i].prefix, "/") == 0) {
            tmp = cfg->locations[i];
            memmove(&cfg->locations[1], &cfg->locations[0], i * sizeof tmp);
            cfg->locations[0] = tmp;
            break;
        }
    }
    for (size_t i = 2; i < cfg->location_count; i++) { /* insertion sort: stable, n <= 64 */
        size_t j = i;
        tmp = cfg->locations[i];
        for (; j > 1 && cfg->locations[j - 1].prefix_len < tmp.prefix_len; j--)
            cfg->locations[j] = cfg->locations[j - 1];
        cfg->locations[j] = tmp;
    }
}

int config_finish(struct config *cfg, FILE *errs)
{
    char err[CONFIG_ERR_MAX];
    int rc = 0;

    if (cfg->listen_count == 0) {
        const struct config_directive *d = config_directive_find("listen");
        if (config_set_default(cfg, NULL, d) < 0) {
            fprintf(errs, "out of memory\n");
            return -1;
        }
    }
    if (cfg->status_allow_count == 0) {
        const struct config_directive *d = config_directive_find("status_allow");
        if (config_set_default(cfg, NULL, d) < 0) {
            fprintf(errs, "out of memory\n");
            return -1;
        }
    }
    if (!config_location_find(cfg, "/") && !config_add_location(cfg, "/", err, sizeof err)) {
        fprintf(errs, "%s\n", err);
        return -1;
    }
    config_order_locations(cfg);

    for (size_t i = 0; i < cfg->location_count; i++) {
        struct config_location *loc = &cfg->locations[i];
        const char *where = loc->where ? loc->where : "location";

        for (size_t k = 0; k < CONFIG_DIRECTIVES; k++) {
            const struct config_directive *d = &config_directives[k];
            if (d->main_size && d->loc_size && !(loc->set_mask & config_directive_bit(d))
                && config_inherit(d, cfg, loc) < 0) {
                fprintf(errs, "out of memory\n");
                return -1;
            }
        }
        if (!loc->auth_realm != !loc->auth_user_file) {
            fprintf(errs, "%s: location '%s' has %s without %s\n", where, loc->prefix,
                    loc->auth_realm ? "auth_basic" : "auth_user_file",
                    loc->auth_realm ? "auth_user_file" : "auth_basic");
            rc = -1;
        }
        if (loc->auth_user_file && !loc->users) {
            loc->users = auth_users_load(loc->auth_user_file, err, sizeof err);
            if (!loc->users) {
                fprintf(errs, "%s: auth_user_file: %s\n",
                        loc->auth_user_file_where ? loc->auth_user_file_where : where, err);
                rc = -1;
            } else {
                auth_users_set_cache_time(loc->users, (long long)cfg->auth_cache_time_ms);
            }
        }
    }
    if (config_check_at_least(cfg, offsetof(struct config, header_max_bytes),
                              offsetof(struct config, request_line_max_bytes), errs) < 0)
        rc = -1;
    if (config_check_at_least(cfg, offsetof(struct config, header_max_bytes),
                              offsetof(struct config, field_line_max_bytes), errs) < 0)
        rc = -1;
    return rc;
}

const struct config_location *config_find_location(const struct config *cfg, const char *path,
                                                   size_t len)
{
    if (cfg->location_count == 0)
        return NULL;
    for (size_t i = 1; i < cfg->location_count; i++) {
        const struct config_location *loc = &cfg->locations[i];
        if (loc->prefix_len <= len && memcmp(loc->prefix, path, loc->prefix_len) == 0)
            return loc;
    }
    return &cfg->locations[0];
}

/* ---- the file ----------------------------------------------------------- */

struct config_parse {
    struct config *cfg;
    FILE *errs;
    bool failed;
    uint64_t main_mask;                         /* directives set at main level */
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
                               struct config_location *loc, bool braced, unsigned open_line,
                               const char *what);

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

/* Read path whole: 0, or -1 with the reason in err. */
static int config_read(const char *path, char **buf, size_t *len, char *err, size_t errlen)
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
    if (st.st_size > CONFIG_FILE_MAX_BYTES)
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
            if (cap > CONFIG_FILE_MAX_BYTES) {
                free(b);
                goto out_too_large;
            }
            cap = cap * 2 > CONFIG_FILE_MAX_BYTES + 1 ? CONFIG_FILE_MAX_BYTES + 1 : cap * 2;
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
    if (n > CONFIG_FILE_MAX_BYTES) {
        free(b);
        goto out_too_large;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;

out_too_large:
    snprintf(err, errlen, "file too large (max %u bytes)", CONFIG_FILE_MAX_BYTES);
out_close:
    close(fd);
    return -1;
}

/* Parse one file into loc (NULL: main level). A read error is reported at
 * from_path:from_line (the include directive), or as "PATH: ..." for the top. */
static void config_parse_file(struct config_parse *ps, const char *path,
                              struct config_location *loc, const char *from_path,
                              unsigned from_line)
{
    struct config_file f = { .path = path, .line = 1 };
    char err[CONFIG_ERR_MAX], *real;
    const char *nul;

    if (config_read(path, &f.buf, &f.len, err, sizeof err) < 0) {
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
    config_parse_block(ps, &f, loc, false, 1, NULL);
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
                           struct config_location *loc, const char *arg, unsigned line)
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
        config_parse_file(ps, path, loc, f->path, line);
        free(path);
        return;
    }
    rc = glob(path, GLOB_ERR, NULL, &g);
    if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            config_parse_file(ps, g.gl_pathv[i], loc, f->path, line);
    } else if (rc != GLOB_NOMATCH) {
        config_error(ps, f->path, line, "include '%s': %s", path,
                     rc == GLOB_NOSPACE ? "out of memory" : "cannot read directory");
    }
    if (rc != GLOB_NOMATCH)
        globfree(&g);
    free(path);
}

static void config_location_block(struct config_parse *ps, struct config_file *f,
                                  struct config_location *outer, char **w, size_t n,
                                  unsigned line)
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
        loc = config_add_location(ps->cfg, w[1], err, sizeof err);
        if (!loc) {
            config_error(ps, f->path, line, "%s", err);
            loc = &discard;
        } else if (asprintf(&loc->where, "%s:%u", f->path, line) < 0) {
            loc->where = NULL;
        }
    }
    config_parse_block(ps, f, loc, true, line, loc->prefix ? loc->prefix : "");
    if (loc == &discard)
        config_location_fini(&discard);
}

static void config_statement(struct config_parse *ps, struct config_file *f,
                             struct config_location *loc, char **w, size_t n, unsigned line)
{
    const struct config_directive *d;
    char err[CONFIG_ERR_MAX];

    if (strcmp(w[0], "include") == 0) {
        if (n != 2)
            config_error(ps, f->path, line,
                         "wrong number of arguments for 'include' (usage: include PATH)");
        else
            config_include(ps, f, loc, w[1], line);
        return;
    }
    if (strcmp(w[0], "location") == 0) {
        config_error(ps, f->path, line, "'location' needs a block: location PREFIX { ... }");
        return;
    }
    d = config_directive_find(w[0]);
    if (d && !config_is_repeatable(d) && (loc ? d->loc_size : d->main_size)
        && ((loc ? loc->set_mask : ps->main_mask) & config_directive_bit(d))) {
        config_error(ps, f->path, line, "'%s' is already set in this block", w[0]);
        return;
    }
    if (config_set(ps->cfg, loc, w[0], (const char *const *)w + 1, n - 1, err, sizeof err) < 0) {
        config_error(ps, f->path, line, "%s", err);
        return;
    }
    if (!loc)
        ps->main_mask |= config_directive_bit(d);
    if (loc && d->loc_size && d->loc_off == offsetof(struct config_location, auth_user_file)) {
        free(loc->auth_user_file_where);
        if (asprintf(&loc->auth_user_file_where, "%s:%u", f->path, line) < 0)
            loc->auth_user_file_where = NULL;
    }
}

/* Statements up to EOF, or up to the '}' that closes a block opened at open_line. */
static void config_parse_block(struct config_parse *ps, struct config_file *f,
                               struct config_location *loc, bool braced, unsigned open_line,
                               const char *what)
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
                config_statement(ps, f, loc, w, n, line);
            break;
        case CONFIG_TOK_OPEN:
            if (n > 0 && strcmp(w[0], "location") == 0) {
                config_location_block(ps, f, loc, w, n, line);
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
                config_error(ps, f->path, open_line,
                             "unterminated block: missing '}' for location '%s'", what);
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

    config_parse_file(&ps, path, NULL, NULL, 0);
    return ps.failed ? -1 : 0;
}

/* ---- the reference ------------------------------------------------------ */

static const char *config_scope_text(const struct config_directive *d)
{
    if (d->main_size && d->loc_size)
        return "main, location";
    return d->main_size ? "main" : "location";
}

static void config_synopsis(struct config_out *o, const struct config_directive *d)
{
    if (d->args)
        config_out_add(o, "%s", d->args);
    else if (config_types[d->type].synopsis)
        config_out_add(o, "%s", config_types[d->type].synopsis);
    else
        for (size_t i = 0; d->names[i]; i++)
            config_out_add(o, "%s%s", i ? "|" : "", d->names[i]);
}

static void config_bounds_text(struct config_out *o, const struct config_directive *d)
{
    switch (d->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_DURATION_OFF:
    case CONFIG_T_SIZE:
    case CONFIG_T_NUMBER:
    case CONFIG_T_MODE: config_format_bounds(o, d); break;
    case CONFIG_T_LISTEN:
        config_out_add(o, "port 1..65535, backlog=1..65535, at most %d", CONFIG_LISTEN_MAX);
        break;
    case CONFIG_T_PATTERN: config_out_add(o, "at most %d", CONFIG_PATTERN_MAX); break;
    case CONFIG_T_CIDRS: config_out_add(o, "at most %d", CONFIG_CIDR_MAX); break;
    default: config_out_add(o, "-"); break;
    }
}

/* roff text: a backslash would start an escape, a leading '.' or '\'' a request. */
static void config_roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static const char config_md_intro[] =
    "# lingerd.conf directives\n"
    "\n"
    "<!-- Generated from the directive table in src/config.c by tools/gen_reference.c;\n"
    "     edit the table, then regenerate. tests/unit/test_config.c checks they match. -->\n"
    "\n"
    "The configuration file uses nginx's syntax. A directive is a name, its\n"
    "arguments and a `;`. `#` starts a comment that runs to the end of the line.\n"
    "An argument with spaces or `;{}#` goes in double quotes, where `\\\"` and\n"
    "`\\\\` are the only escapes (other backslashes are kept, so regexes read\n"
    "naturally).\n"
    "\n"
    "```\n"
    "listen 127.0.0.1:8080;\n"
    "root /srv/www;\n"
    "include conf.d/*.conf;        # relative to this file; patterns allowed\n"
    "\n"
    "location /upload/ {\n"
    "    methods GET HEAD PUT DELETE;\n"
    "    auth_basic \"uploads\";\n"
    "    auth_user_file /etc/lingerd/htpasswd;\n"
    "    body_max_bytes 1g;\n"
    "}\n"
    "```\n"
    "\n"
    "`location PREFIX { ... }` sets per-path policy. The longest prefix that\n"
    "matches the decoded request path wins; a `/` location always exists.\n"
    "A directive whose context is *main, location* set at the top level is the\n"
    "default for every location that does not set it. Blocks do not nest, and a\n"
    "directive may appear once per block unless it says it is repeatable.\n"
    "\n"
    "Units: durations take `ms`, `s`, `m` or `h` (`500ms`, `2s`, `1m`; a unit is\n"
    "required except for `0`). Sizes are bytes, or take `k`, `m`, `g` or `t`\n"
    "(powers of 1024: `8k`, `1m`). Booleans are `on` or `off`. Modes are octal.\n"
    "\n"
    "Every error is reported as `FILE:LINE: message`, and all of them are\n"
    "reported in one run.\n";

static void config_print_markdown(FILE *out)
{
    const char *group = NULL;

    fputs(config_md_intro, out);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[128], bounds[64];
        struct config_out os = { syn, sizeof syn, 0, false };
        struct config_out ob = { bounds, sizeof bounds, 0, false };

        config_synopsis(&os, d);
        config_bounds_text(&ob, d);
        if (!group || strcmp(group, d->group) != 0) {
            group = d->group;
            fprintf(out, "\n## %s\n", group);
        }
        fprintf(out, "\n### %s\n\n", d->name);
        fprintf(out, "    %s %s;\n\n", d->name, syn);
        fprintf(out, "- Type: %s%s\n", config_types[d->type].name,
                config_is_repeatable(d) ? ", repeatable" : "");
        if (d->def)
            fprintf(out, "- Default: `%s`\n", d->def);
        else
            fprintf(out, "- Default: none\n");
        if (strcmp(bounds, "-") != 0)
            fprintf(out, "- Bounds: %s\n", bounds);
        fprintf(out, "- Context: %s\n\n", config_scope_text(d));
        fprintf(out, "%s.\n", d->help);
    }
}

static void config_print_man(FILE *out)
{
    const char *group = NULL;

    fputs(".\\\" Generated from the directive table in src/config.c by tools/gen_reference.c.\n"
          ".TH LINGERD.CONF 5 \"\" \"lingerd\" \"File Formats\"\n"
          ".SH NAME\n"
          "lingerd.conf \\- configuration file of the lingerd HTTP/1.1 server\n"
          ".SH DESCRIPTION\n"
          "The file uses the syntax of nginx. A directive is a name, its arguments\n"
          "and a semicolon.\n"
          ".B #\n"
          "starts a comment that runs to the end of the line. An argument with\n"
          "spaces or\n"
          ".B ;{}#\n"
          "goes in double quotes, where \\e\" and \\e\\e are the only escapes.\n"
          ".PP\n"
          ".B location\n"
          ".I PREFIX\n"
          ".B { ... }\n"
          "sets per\\-path policy: the longest prefix that matches the decoded\n"
          "request path wins, and a / location always exists. A directive whose\n"
          "context is main, location set at the top level is the default for every\n"
          "location that does not set it. Blocks do not nest.\n"
          ".PP\n"
          ".B include\n"
          ".IR PATH ;\n"
          "reads another file, relative to the including file; glob(7) patterns\n"
          "are allowed. Every error is reported as FILE:LINE: message, all in one run.\n"
          ".SS Units\n"
          "Durations take ms, s, m or h (500ms, 2s, 1m; a unit is required except\n"
          "for 0). Sizes are bytes, or take k, m, g or t (powers of 1024). Booleans\n"
          "are on or off. Modes are octal.\n"
          ".SH DIRECTIVES\n",
          out);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[128], bounds[64];
        struct config_out os = { syn, sizeof syn, 0, false };
        struct config_out ob = { bounds, sizeof bounds, 0, false };

        config_synopsis(&os, d);
        config_bounds_text(&ob, d);
        if (!group || strcmp(group, d->group) != 0) {
            group = d->group;
            fprintf(out, ".SS %s\n", group);
        }
        fputs(".TP\n.B ", out);
        config_roff(out, d->name);
        fputs(" \\fI", out);
        config_roff(out, syn);
        fputs("\\fR\n", out);
        config_roff(out, d->help);
        fputs(".\n.br\nDefault: ", out);
        config_roff(out, d->def ? d->def : "none");
        if (strcmp(bounds, "-") != 0) {
            fputs("; bounds: ", out);
            config_roff(out, bounds);
        }
        fprintf(out, "; context: %s%s.\n", config_scope_text(d),
                config_is_repeatable(d) ? "; repeatable" : "");
    }
    fputs(".SH SEE ALSO\n"
          ".BR lingerd (8),\n"
          ".BR regex (7),\n"
          ".BR crypt (5)\n",
          out);
}

static void config_print_text(FILE *out)
{
    fputs("Directives (configuration file or command line; see lingerd.conf(5)):\n", out);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[160];
        struct config_out os = { syn, sizeof syn, 0, false };

        config_out_add(&os, "%s ", d->name);
        config_synopsis(&os, d);
        fprintf(out, "  %-34s %-15s %s\n", syn, d->def ? d->def : "-", d->help);
    }
}

/* A '#' comment, wrapped at 79 columns. */
static void config_conf_comment(FILE *out, const char *text)
{
    const size_t width = 79 - 2;
    size_t col = 0;

    while (*text) {
        size_t len = strcspn(text, " ");
        if (col > 0 && col + 1 + len > width) {
            fputc('\n', out);
            col = 0;
        }
        fputs(col == 0 ? "# " : " ", out);
        fwrite(text, 1, len, out);
        col += (col == 0 ? 0 : 1) + len;
        text += len;
        text += strspn(text, " ");
    }
    if (col > 0)
        fputc('\n', out);
}

/* A default as the file would take it back: strings that are empty or hold
 * a separator are quoted. */
static void config_conf_value(FILE *out, const struct config_directive *d, const char *v)
{
    bool quote = (d->type == CONFIG_T_STRING || d->type == CONFIG_T_PATH) &&
                 (!*v || strpbrk(v, " \t;{}#\"\\") != NULL);

    if (!quote) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

/* conf/lingerd.conf: every directive commented out at its default, so the
 * example can never disagree with the server. */
static void config_print_conf(FILE *out)
{
    const char *group = NULL;

    fputs("# lingerd.conf: every directive at its built-in default, commented out.\n"
          "#\n"
          "# Generated from the directive table in src/config.c by tools/gen_reference.c\n"
          "# (make docs); edit the table, then regenerate. tests/unit/test_config.c\n"
          "# checks that they match. Syntax, units and contexts: lingerd.conf(5) and\n"
          "# docs/directives.md.\n"
          "#\n"
          "# Uncomment a line and change its value to override the default. A line\n"
          "# whose argument is in capitals (NAME, PATH, REGEX...) has no default: it\n"
          "# shows what to write. \"Location only\" directives go inside a\n"
          "# location PREFIX { ... } block; \"also per location\" ones may be set at\n"
          "# the top level (the default for every location) or inside a block.\n"
          "#\n"
          "# Test a file with: lingerd -t -c FILE\n",
          out);
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        char syn[128], note[96] = "", text[640];
        struct config_out os = { syn, sizeof syn, 0, false };
        struct config_out on = { note, sizeof note, 0, false };
        struct config_out ot = { text, sizeof text, 0, false };

        if (!group || strcmp(group, d->group) != 0) {
            group = d->group;
            fprintf(out, "\n# ==== %s ====\n", group);
        }
        config_synopsis(&os, d);
        if (!d->main_size)
            config_out_add(&on, " Location only.");
        else if (d->loc_size)
            config_out_add(&on, " Also per location.");
        if (config_is_repeatable(d))
            config_out_add(&on, " Repeatable.");
        if (!d->def)
            config_out_add(&on, " No default.");

        config_out_add(&ot, "%s.%s", d->help, note);
        fputc('\n', out);
        config_conf_comment(out, text);
        fprintf(out, "#%s ", d->name);
        if (d->def)
            config_conf_value(out, d, d->def);
        else
            fputs(syn, out);
        fputs(";\n", out);
    }
}

void config_print_reference(FILE *out, const char *format)
{
    if (strcmp(format, "markdown") == 0)
        config_print_markdown(out);
    else if (strcmp(format, "man") == 0)
        config_print_man(out);
    else if (strcmp(format, "conf") == 0)
        config_print_conf(out);
    else
        config_print_text(out);
}
