/* config — the directive table, its defaults, and setting one value.
 *
 * Every setting is one row of config_directives[]: name, type, where it is
 * stored (struct config and/or struct config_location), default as TEXT,
 * bounds, argument synopsis and a one-line help. Defaults, the file parser
 * (config_file.c), config_set (the command line), validation, and the
 * reference (config_reference.c: `lingerd -h`, docs/directives.md,
 * lingerd.conf(5)) all read that table, so adding a setting is one row plus
 * a struct field.
 *
 * Scope follows from the storage, so the two cannot disagree: a row with only
 * a main field is main-only, only a location field is location-only, both
 * means the main value is the default for every location that does not set
 * it. Which directives a location set is a bit per row (index in the table)
 * in config_location.set_mask; config_finish copies the rest from main.
 *
 * Not here: the file syntax (config_file.c), reload (the master loads a
 * fresh struct config) and anything that touches sockets; listen addresses
 * are parsed, never bound.
 */
#include "config_table.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog.h"
#include "auth.h"
#include "http1.h"

#define CONFIG_BACKLOG_DEFAULT 511 /* as nginx: fits the kernel's default somaxconn */

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define MS_S 1000ull
#define MS_M (60ull * MS_S)
#define MS_H (60ull * MS_M)

const struct config_type_info config_types[] = {
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
    [CONFIG_T_LISTEN] = { "address", "ADDR:PORT [backlog=N] [tls]",
                          "an address like 127.0.0.1:8080, [::1]:8080, *:8080 or 8080", 1, 3 },
    [CONFIG_T_PATTERN] = { "regex list", "REGEX...", "an extended regular expression", 1,
                           CONFIG_PATTERN_MAX },
    [CONFIG_T_MODE] = { "octal mode", "MODE", "an octal mode like 0644", 1, 1 },
    [CONFIG_T_CIDRS] = { "address list", "CIDR...",
                         "addresses or networks like 127.0.0.0/8, ::1, 10.0.0.0/8",
                         1, CONFIG_CIDR_MAX },
    [CONFIG_T_KEYWORDS] = { "keyword list", NULL, NULL, 1, CONFIG_WORDS_MAX },
    [CONFIG_T_CERTS] = { "certificate and key", "CERT.pem KEY.pem",
                         "a certificate file and its key file", 2, 2 },
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

static const char *const config_tls_protocol_names[] = {
    [CONFIG_TLS_1_2] = "TLSv1.2",
    [CONFIG_TLS_1_3] = "TLSv1.3",
    NULL,
};
static_assert(ARRAY_LEN(config_tls_protocol_names) == CONFIG_TLS_PROTOCOL_COUNT + 1,
              "one name per protocol");

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

/* tls_ciphers, tls_ciphersuites: OpenSSL's list syntax. Whether a name is a
 * cipher OpenSSL knows is checked when the contexts are built (tls_store.c),
 * which keeps OpenSSL out of the table; this only refuses what cannot be a
 * list (spaces, quotes), so a typo is caught with its FILE:LINE. */
static int config_check_cipher_list(const char *value, char *err, size_t errlen)
{
    if (value[0] == '\0') {
        snprintf(err, errlen, "an empty list enables nothing");
        return -1;
    }
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || strchr(":+-!@=_.,", c))) {
            snprintf(err, errlen, "'%c' cannot appear in an OpenSSL cipher list",
                     c >= ' ' && c < 0x7f ? c : '?');
            return -1;
        }
    }
    return 0;
}

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
#define G_TLS "HTTPS (TLS)"

/* The single source of truth. Order is the order of the reference. */
const struct config_directive config_directives[] = {
    { .name = "listen", .type = CONFIG_T_LISTEN, MAIN(listens),
      .count_off = offsetof(struct config, listen_count), .def = "127.0.0.1:8080",
      .min = 1, .max = 65535, .group = G_SERVE,
      .help = "Address to accept on; a bare PORT means every IPv4 address; backlog=N sets the "
              "listen(2) queue (default 511); tls makes it an HTTPS listener (it needs a "
              "tls_certificate); the default applies only if no listen is given" },
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
              "then accepted and timed by header_timeout (a full stop resets those still "
              "held); off hands every connection over at once" },
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
    { .name = "shutdown_idle_grace", .type = CONFIG_T_DURATION, MAIN(shutdown_idle_grace_ms),
      .def = "15s", .min = 0, .max = MS_H, .group = G_PROC,
      .help = "At a graceful stop or reload, a kept-alive connection between requests stays "
              "open until its own keepalive_timeout, but at most this long (and within "
              "shutdown_timeout); a request that comes meanwhile is answered with "
              "\"Connection: close\". 0 closes idle connections at once (clients must retry)" },
    { .name = "shutdown_close_spread", .type = CONFIG_T_DURATION,
      MAIN(shutdown_close_spread_ms), .def = "2s", .min = 0, .max = MS_H, .group = G_PROC,
      .help = "Idle connections that shutdown_idle_grace cuts short close spread over this "
              "last stretch of the grace, not all in one instant (their clients reconnect "
              "spread out too)" },
    { .name = "rlimit_nofile", .type = CONFIG_T_NUMBER, MAIN(rlimit_nofile), .def = "65536",
      .min = 0, .max = 1048576, .args = "N", .group = G_PROC,
      .help = "Raise RLIMIT_NOFILE to this at start (capped by the hard limit); 0 leaves it" },
    { .name = "worker_restart_delay_max", .type = CONFIG_T_DURATION,
      MAIN(worker_restart_delay_max_ms), .def = "10s", .min = 10, .max = MS_H, .group = G_PROC,
      .help = "Longest back-off before restarting a worker that keeps dying (doubles from "
              "100ms)" },

    { .name = "tls_certificate", .type = CONFIG_T_CERTS, MAIN(tls_certificates),
      .count_off = offsetof(struct config, tls_certificate_count), .group = G_TLS,
      .help = "Certificate (PEM; the chain may follow the leaf in the same file) and its "
              "private key (RSA or ECDSA) for the tls listeners. The "
              "name a client asks for (SNI) picks the certificate whose subjectAltName DNS "
              "names match it (*.example.com covers one label; the subject CN counts only "
              "without DNS names); the first certificate serves every other name" },
    { .name = "tls_protocols", .type = CONFIG_T_KEYWORDS, MAIN(tls_protocols),
      .def = "TLSv1.2 TLSv1.3", .names = config_tls_protocol_names,
      .args = "TLSv1.2|TLSv1.3...", .group = G_TLS,
      .help = "TLS versions accepted; nothing older than TLS 1.2 can be enabled (RFC 8996)" },
    { .name = "tls_ciphers", .type = CONFIG_T_STRING, MAIN(tls_ciphers),
      .def = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
             "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
             "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
      .args = "LIST", .check = config_check_cipher_list, .group = G_TLS,
      .help = "TLS 1.2 ciphers (OpenSSL's list syntax), in the server's order of preference; "
              "the default is Mozilla's \"intermediate\" set: forward-secret ECDHE with "
              "AES-GCM or ChaCha20-Poly1305 only" },
    { .name = "tls_ciphersuites", .type = CONFIG_T_STRING, MAIN(tls_ciphersuites),
      .def = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
      .args = "LIST", .check = config_check_cipher_list, .group = G_TLS,
      .help = "TLS 1.3 cipher suites (OpenSSL's syntax); the default is OpenSSL's own" },
    { .name = "tls_session_tickets", .type = CONFIG_T_BOOL, MAIN(tls_session_tickets),
      .def = "on", .group = G_TLS,
      .help = "Let clients resume sessions with tickets (RFC 8446 4.6.1), which saves the "
              "certificate and signature of a full handshake; every worker shares the keys, "
              "which the master makes and rotates" },
    { .name = "tls_ticket_key_rotation", .type = CONFIG_T_DURATION,
      MAIN(tls_ticket_key_rotation_ms), .def = "12h", .min = MS_M, .max = 168 * MS_H,
      .group = G_TLS,
      .help = "How often the master makes a new session ticket key; the previous key still "
              "opens tickets, so a ticket resumes for one period across a rotation, and a "
              "stolen key reveals at most two periods of resumed sessions" },
    { .name = "tls_handshake_timeout", .type = CONFIG_T_DURATION,
      MAIN(tls_handshake_timeout_ms), .def = "10s", .min = 100, .max = 5 * MS_M,
      .group = G_TLS,
      .help = "Total time allowed for a TLS handshake, however slowly it trickles in" },
    { .name = "ktls", .type = CONFIG_T_BOOL, MAIN(ktls), .def = "on", .group = G_TLS,
      .help = "Hand record encryption to the kernel (kTLS, so file bodies keep going by "
              "sendfile) when it offers the tls module (net.ipv4.tcp_available_ulp); "
              "otherwise, or off, OpenSSL encrypts in the worker" },
    { .name = "https_redirect", .type = CONFIG_T_BOOL, MAIN(https_redirect), .def = "off",
      .group = G_TLS,
      .help = "Answer every request on the plain listeners with a redirect to the same URL "
              "over https (needs a tls listener)" },
    { .name = "hsts", .type = CONFIG_T_DURATION_OFF, MAIN(hsts_ms), .def = "off", .min = 0,
      .max = 17520 * MS_H, .flags = CONFIG_F_ROUND_S, .group = G_TLS,
      .help = "Send Strict-Transport-Security with this max-age (whole seconds, at most two "
              "years) on responses over TLS, so browsers keep to https; off sends none" },

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
static_assert(CONFIG_DIRECTIVES <= CONFIG_DIRECTIVES_MAX, "room in the parser's main_set");

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

const struct config_directive *config_directive_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_DIRECTIVES; i++)
        if (strcmp(config_directives[i].name, name) == 0)
            return &config_directives[i];
    return NULL;
}

uint64_t config_directive_bit(const struct config_directive *d)
{
    /* Only rows a location may set have a bit: their rank among those rows,
     * so the table can grow past 64 rows while locations stay a few. */
    unsigned rank = 0;
    for (const struct config_directive *r = config_directives; r < d; r++)
        rank += r->loc_size != 0;
    assert(d->loc_size != 0 && rank < 64);
    return UINT64_C(1) << rank;
}

bool config_is_repeatable(const struct config_directive *d)
{
    return d->type == CONFIG_T_LISTEN || d->type == CONFIG_T_PATTERN || d->type == CONFIG_T_CIDRS
           || d->type == CONFIG_T_CERTS;
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

void config_out_add(struct config_out *o, const char *fmt, ...)
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

void config_format_bounds(struct config_out *o, const struct config_directive *d)
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

    if (d->type == CONFIG_T_ENUM || d->type == CONFIG_T_KEYWORDS) {
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

/* "127.0.0.1:8080", "[::1]:8080", "*:8080", "8080", then the options
 * backlog=N and tls, in any order, each at most once. */
static int config_parse_listen(const struct config_directive *d, struct config_listen *l,
                               const char *const *args, size_t nargs, char *err, size_t errlen)
{
    const char *arg = args[0], *port_text;
    char host[64];
    uint64_t port, backlog = CONFIG_BACKLOG_DEFAULT;
    bool have_backlog = false;

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

    for (size_t i = 1; i < nargs; i++) {
        const char *p = args[i];
        if (strcmp(p, "tls") == 0 && !l->tls) {
            l->tls = true;
            continue;
        }
        if (have_backlog || strncmp(p, "backlog=", 8) != 0
            || (p += 8, config_parse_digits(&p, 10, &backlog)) < 0 || *p != '\0') {
            snprintf(err, errlen, "bad value '%s' for '%s': expected backlog=N or tls, each "
                     "at most once", args[i], d->name);
            return -1;
        }
        if (backlog < d->min || backlog > d->max) {
            snprintf(err, errlen, "'%s' value '%s' is out of bounds (backlog=1..65535)",
                     d->name, args[i]);
            return -1;
        }
        have_backlog = true;
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

static int config_add_cert(struct config *cfg, const struct config_directive *d,
                           const char *const *args, char *err, size_t errlen)
{
    struct config_tls_cert *list = (struct config_tls_cert *)((char *)cfg + d->main_off);
    size_t *count = (size_t *)((char *)cfg + d->count_off);
    struct config_tls_cert *c;

    if (*count == CONFIG_TLS_CERT_MAX) {
        snprintf(err, errlen, "too many '%s' directives (max %d)", d->name, CONFIG_TLS_CERT_MAX);
        return -1;
    }
    if (args[0][0] == '\0' || args[1][0] == '\0')
        return config_bad_value(d, args[0][0] ? args[1] : args[0], err, errlen);
    c = &list[*count];
    memset(c, 0, sizeof *c);
    c->cert_file = strdup(args[0]);
    c->key_file = strdup(args[1]);
    if (!c->cert_file || !c->key_file) {
        free(c->cert_file);
        free(c->key_file);
        memset(c, 0, sizeof *c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    (*count)++;
    return 0;
}

/* A set of the row's names, one bit each; repeating one is harmless. */
static int config_parse_keywords(const struct config_directive *d, unsigned *mask,
                                 const char *const *args, size_t nargs, char *err,
                                 size_t errlen)
{
    *mask = 0;
    for (size_t i = 0; i < nargs; i++) {
        size_t k;
        for (k = 0; d->names[k]; k++)
            if (strcmp(args[i], d->names[k]) == 0)
                break;
        if (!d->names[k])
            return config_bad_value(d, args[i], err, errlen);
        *mask |= 1u << k;
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
    case CONFIG_T_KEYWORDS: {
        unsigned mask;
        if (config_parse_keywords(d, &mask, args, nargs, err, errlen) < 0)
            return -1;
        config_put_uint(field, size, mask);
        return 0;
    }
    case CONFIG_T_CERTS:
        return config_add_cert(cfg, d, args, err, errlen);
    case CONFIG_T__COUNT:
        break;
    }
    assert(0 && "directive type");
    return -1;
}

void config_note_where(struct config *cfg, struct config_location *loc,
                       const struct config_directive *d, const char *path, unsigned line)
{
    if (loc && d->loc_size && d->loc_off == offsetof(struct config_location, auth_user_file)) {
        free(loc->auth_user_file_where);
        if (asprintf(&loc->auth_user_file_where, "%s:%u", path, line) < 0)
            loc->auth_user_file_where = NULL;
    } else if (!loc && d->type == CONFIG_T_LISTEN && cfg->listen_count > 0) {
        struct config_listen *l = &cfg->listens[cfg->listen_count - 1];
        snprintf(l->where, sizeof l->where, "%s:%u", path, line);
    } else if (!loc && d->type == CONFIG_T_CERTS && cfg->tls_certificate_count > 0) {
        struct config_tls_cert *c = &cfg->tls_certificates[cfg->tls_certificate_count - 1];
        snprintf(c->where, sizeof c->where, "%s:%u", path, line);
    }
}

bool config_has_tls_listener(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->listen_count; i++)
        if (cfg->listens[i].tls)
            return true;
    return false;
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
    char text[256], err[CONFIG_ERR_MAX], *save = NULL;
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

void config_location_fini(struct config_location *loc)
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
    for (size_t i = 0; i < cfg->tls_certificate_count; i++) {
        free(cfg->tls_certificates[i].cert_file);
        free(cfg->tls_certificates[i].key_file);
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
            if (cfg->listens[i].tls)
                config_out_add(&o, " tls");
        }
        break;
    case CONFIG_T_KEYWORDS: {
        uint64_t mask = config_get_uint(field, size);
        const char *sep = "";
        for (size_t k = 0; d->names[k]; k++) {
            if (mask & (1u << k)) {
                config_out_add(&o, "%s%s", sep, d->names[k]);
                sep = " ";
            }
        }
        break;
    }
    case CONFIG_T_CERTS:
        for (size_t i = 0; i < cfg->tls_certificate_count; i++)
            config_out_add(&o, "%s%s %s", i ? "\n" : "", cfg->tls_certificates[i].cert_file,
                           cfg->tls_certificates[i].key_file);
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
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const struct config_listen *l = &cfg->listens[i];
        if (l->tls && cfg->tls_certificate_count == 0) {
            fprintf(errs, "%s%slisten %s tls: no tls_certificate is configured\n", l->where,
                    l->where[0] ? ": " : "", l->text);
            rc = -1;
        }
    }
    if (cfg->https_redirect && !config_has_tls_listener(cfg)) {
        fprintf(errs, "https_redirect on needs a listener with the tls flag to redirect to\n");
        rc = -1;
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
