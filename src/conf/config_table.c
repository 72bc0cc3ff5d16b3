/* config_table — the rows of the directive table and what they name.
 *
 * Every setting is one row of config_directives[]: name, type, where it is
 * stored (struct config and/or struct config_location), default as TEXT,
 * bounds, argument synopsis and a one-line help. Defaults, the file parser
 * (config_file.c), config_set (the command line), validation (config.c) and
 * the reference (config_reference.c: `lingerd -h`, docs/directives.md,
 * lingerd.conf(5)) all read that table, so adding a setting is one row plus
 * a struct field.
 *
 * Scope follows from the storage, so the two cannot disagree: a row with only
 * a main field is main-only, only a location field is location-only, both
 * means the main value is the default for every location that does not set
 * it. Which directives a location set is a bit per location row in
 * config_location.set_mask; config_finish copies the rest from main.
 *
 * Leaves out: what a row implies (scope, set_mask bit, ownership:
 * config_directive.c) and the value checks rows name in .check
 * (config_check.c).
 */
#include "config_table.h"

#include <assert.h>
#include <string.h>

#include "accept_encoding.h"
#include "accesslog.h"
#include "auth.h"
#include "http1.h"
#include "log.h"
#include "proxy_addr.h"

/* Wire names in enum http1_method order; OTHER is not a name one can allow. */
const char *const config_method_names[] = {
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

static const char *const config_io_full_names[] = {
    [CONFIG_IO_FULL_WAIT] = "wait",
    [CONFIG_IO_FULL_REFUSE] = "refuse",
    NULL,
};
static_assert(ARRAY_LEN(config_io_full_names) == CONFIG_IO_FULL_REFUSE + 2, "one name per value");

static const char *const config_tls_protocol_names[] = {
    [CONFIG_TLS_1_2] = "TLSv1.2",
    [CONFIG_TLS_1_3] = "TLSv1.3",
    NULL,
};
static_assert(ARRAY_LEN(config_tls_protocol_names) == CONFIG_TLS_PROTOCOL_COUNT + 1,
              "one name per protocol");

static const char *const config_real_ip_names[] = {
    [CONFIG_REAL_IP_OFF] = "off",
    [CONFIG_REAL_IP_X_FORWARDED_FOR] = "X-Forwarded-For",
    [CONFIG_REAL_IP_X_REAL_IP] = "X-Real-IP",
    NULL,
};
static_assert(ARRAY_LEN(config_real_ip_names) == CONFIG_REAL_IP_X_REAL_IP + 2,
              "one name per value");

static const char *const config_log_level_names[] = {
    [LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
    NULL,
};
static_assert(ARRAY_LEN(config_log_level_names) == LOG_LEVEL_COUNT + 1, "one name per level");

/* precompressed: the bit of a coding is its enum accept_coding, so the
 * mask is the set of codings offered; "off" sets a bit no coding uses. */
static const char *const config_precompressed_names[] = {
    [ACCEPT_BR] = "br", [ACCEPT_GZIP] = "gzip", [ACCEPT_IDENTITY] = "off", NULL,
};
static_assert(ACCEPT_IDENTITY == 2 && ACCEPT_CODING_COUNT == 3, "one name per coding");

#define MAIN(f) .main_off = offsetof(struct config, f), .main_size = sizeof(((struct config *)0)->f)
/* A server row: in struct config_server, and at main level in the top one. */
#define SRV(f)                                                                                   \
    .main_off = offsetof(struct config, top.f), .main_size = sizeof(((struct config *)0)->top.f), \
    .srv_off = offsetof(struct config_server, f),                                              \
    .srv_size = sizeof(((struct config_server *)0)->f)
#define SRV_ONLY(f)                                                                              \
    .srv_off = offsetof(struct config_server, f),                                              \
    .srv_size = sizeof(((struct config_server *)0)->f)
#define LOC(f)                                                                                   \
    .loc_off = offsetof(struct config_location, f),                                            \
    .loc_size = sizeof(((struct config_location *)0)->f)

#define G_SERVE "Listening and serving"
#define G_SITE "Sites (server blocks)"
#define G_LIMIT "Request limits"
#define G_TIME "Timeouts and keep-alive"
#define G_CLOSE "The close"
#define G_LOG "Logs and status"
#define G_LOC "Per site and location"
#define G_HEAD "Response fields"
#define G_REDIR "Redirects and fallbacks"
#define G_PROC "Processes"
#define G_TLS "HTTPS (TLS)"
#define G_GZIP "Compression"
#define G_LIST "Directory listings"
#define G_LB "Behind a load balancer"
#define G_PROXY "Reverse proxy"
#define G_H2 "HTTP/2"

/* The single source of truth. Order is the order of the reference. */
const struct config_directive config_directives[] = {
    { .name = "listen", .type = CONFIG_T_LISTEN, MAIN(listens),
      .count_off = offsetof(struct config, listen_count), .def = "127.0.0.1:8080",
      .min = 1, .max = 65535, .group = G_SERVE,
      .help = "Address to accept on; a bare PORT means every IPv4 address; backlog=N sets the "
              "listen(2) queue (default 511); tls makes it an HTTPS listener (it needs a "
              "tls_certificate); proxy_protocol makes every connection start with a PROXY "
              "protocol header (v1 or v2) from a proxy_protocol_from address, before TLS or "
              "HTTP; the default applies only if no listen is given" },
    { .name = "root", .type = CONFIG_T_PATH, SRV(root), .def = "www", .group = G_SERVE,
      .help = "Directory served and written; relative paths are from the working directory" },
    { .name = "index", .type = CONFIG_T_STRING, SRV(index), .def = "index.html",
      .args = "NAME", .group = G_SERVE,
      .help = "File served for a request whose path names a directory" },
    { .name = "mime_types_file", .type = CONFIG_T_STRING, MAIN(mime_types_file),
      .def = "/etc/mime.types", .args = "PATH", .group = G_SERVE,
      .help = "Extension-to-type map in mime.types(5) format; an empty string loads none" },
    { .name = "server_header", .type = CONFIG_T_STRING, MAIN(server_header), .def = "lingerd",
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
    { .name = "upload_buffer_bytes", .type = CONFIG_T_SIZE, MAIN(upload_buffer_bytes),
      .def = "1m", .min = 512 * KIB, .max = 64 * MIB, .group = G_SERVE,
      .help = "An upload's body is gathered in two buffers of this size: the worker fills "
              "one while an I/O thread writes the other to the file, so the event loop never "
              "waits for the file system; a body that fills half a buffer while the other is "
              "still being written stops reading until the disk catches up" },
    { .name = "upload_splice", .type = CONFIG_T_BOOL, MAIN(upload_splice), .def = "on",
      .group = G_SERVE,
      .help = "Over plain HTTP/1.1, move a large upload's body from the socket to its file "
              "in the kernel (splice through a pipe of upload_buffer_bytes, at most the "
              "system's pipe-max-size), so the worker never copies it; off, or over TLS, "
              "HTTP/2 or chunked framing, the body is read into the buffers" },
    { .name = "upload_writeback_bytes", .type = CONFIG_T_SIZE, MAIN(upload_writeback_bytes),
      .def = "8m", .min = 0, .max = GIB, .group = G_SERVE,
      .help = "While an upload's body arrives, the I/O thread starts the disk writes every "
              "this many bytes (sync_file_range, without waiting for them), and another "
              "thread flushes what is written so far (fdatasync) each time a step's worth "
              "has come since the last flush, so the fsync before the answer only has "
              "what came after it; 0 leaves everything to that fsync" },
    { .name = "upload_dirty_max_bytes", .type = CONFIG_T_SIZE, MAIN(upload_dirty_max_bytes),
      .def = "32m", .min = 0, .max = GIB, .group = G_SERVE,
      .help = "How far an upload's writes may run ahead of the disk: once this much and "
              "a step (upload_writeback_bytes) more are written but not yet handed to the "
              "disk, the I/O thread waits for the oldest of it (and a body whose buffers are full stops reading), so a fast client "
              "and a slow disk do not leave it all to the final fsync; 0: no bound but the "
              "kernel's own (upload_writeback_bytes 0 has none either)" },
    { .name = "io_threads", .type = CONFIG_T_NUMBER, MAIN(io_threads), .def = "2", .min = 1,
      .max = 64, .args = "N", .group = G_SERVE,
      .help = "Threads per worker that run the file calls which may block on a slow disk "
              "(an upload's fsyncs, renames and writeback), so the event loop never waits "
              "for them" },
    { .name = "io_queue_max", .type = CONFIG_T_NUMBER, MAIN(io_queue_max), .def = "64",
      .min = 0, .max = 65536, .args = "N", .group = G_SERVE,
      .help = "File operations a worker lets wait for a free I/O thread; beyond that "
              "io_queue_full decides" },
    { .name = "io_queue_full", .type = CONFIG_T_ENUM, MAIN(io_queue_full), .def = "wait",
      .names = config_io_full_names, .group = G_SERVE,
      .help = "When io_queue_max operations wait already: wait (the upload stops reading "
              "its body, or waits to be committed, until an operation finishes; bounded by "
              "io_wait_timeout) or refuse (the upload is answered 503 with Retry-After: 1)" },
    { .name = "server_name", .type = CONFIG_T_NAMES, SRV_ONLY(names), .group = G_SITE,
      .help = "Host names this server block answers (exact, or *.example for any name "
              "ending in .example); the Host field picks the block: an exact name, else the "
              "longest wildcard, else the default server. Case, a port and one trailing dot "
              "of the Host are ignored; a name in two blocks is an error" },
    { .name = "default_server", .type = CONFIG_T_BOOL, SRV_ONLY(default_server),
      .def = "off", .group = G_SITE,
      .help = "This block answers requests whose Host matches no server_name (and requests "
              "without one); at most one block has it; without it, the first block does" },
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
      .count_off = offsetof(struct config, tls_certificate_count),
      .flags = CONFIG_F_SERVER_ADDS, .group = G_TLS,
      .help = "Certificate (PEM; the chain may follow the leaf in the same file) and its "
              "private key (RSA or ECDSA) for the tls listeners. The "
              "name a client asks for (SNI) picks the certificate whose subjectAltName DNS "
              "names match it (*.example.com covers one label; the subject CN counts only "
              "without DNS names); the first certificate serves every other name. In a "
              "server block it joins the same list: the certificate's names, not the block, "
              "decide which connections it serves" },
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

    { .name = "http2", .type = CONFIG_T_BOOL, MAIN(http2), .def = "on", .group = G_H2,
      .help = "TLS listeners offer h2, then http/1.1, by ALPN; off offers only http/1.1" },
    { .name = "http2_cleartext", .type = CONFIG_T_BOOL, MAIN(http2_cleartext), .def = "off",
      .group = G_H2,
      .help = "Plain listeners also take HTTP/2 from clients that start with its preface "
              "(prior knowledge); HTTP/1.1 is still served on the same port" },
    { .name = "http2_max_concurrent_streams", .type = CONFIG_T_NUMBER,
      MAIN(http2_max_concurrent_streams), .def = "128", .min = 1, .max = 10000, .group = G_H2,
      .help = "Streams one HTTP/2 connection may have open at once; a request over it is "
              "refused (RST_STREAM REFUSED_STREAM)" },
    { .name = "http2_stream_window", .type = CONFIG_T_SIZE, MAIN(http2_stream_window),
      .def = "65535", .min = 65535, .max = 16 * MIB, .group = G_H2,
      .help = "A request body's flow-control window; it opens again only as the handler "
              "takes the bytes (an upload's disk), so a slow consumer stops the sender" },
    { .name = "http2_connection_window", .type = CONFIG_T_SIZE, MAIN(http2_connection_window),
      .def = "1m", .min = 65535, .max = 1024 * MIB, .group = G_H2,
      .help = "The flow-control window of a whole HTTP/2 connection for request bodies" },
    { .name = "http2_max_frame_size", .type = CONFIG_T_SIZE, MAIN(http2_max_frame_size),
      .def = "16k", .min = 16384, .max = 16777215, .group = G_H2,
      .help = "Largest frame payload the server accepts (SETTINGS_MAX_FRAME_SIZE)" },
    { .name = "http2_max_header_list_size", .type = CONFIG_T_SIZE,
      MAIN(http2_max_header_list_size), .def = "0", .min = 0, .max = MIB, .group = G_H2,
      .help = "Largest decoded header list of a request (SETTINGS_MAX_HEADER_LIST_SIZE); a "
              "larger one gets 431 on its stream; 0 means header_max_bytes" },
    { .name = "http2_max_resets", .type = CONFIG_T_NUMBER, MAIN(http2_max_resets),
      .def = "200", .min = 1, .max = 1000000, .group = G_H2,
      .help = "Streams a client may reset in 10 seconds on one connection; past it the "
              "connection ends with GOAWAY(ENHANCE_YOUR_CALM) (rapid reset)" },
    { .name = "http2_max_continuations", .type = CONFIG_T_NUMBER,
      MAIN(http2_max_continuations), .def = "16", .min = 1, .max = 1000, .group = G_H2,
      .help = "CONTINUATION frames allowed in one header block; more ends the connection "
              "with GOAWAY(ENHANCE_YOUR_CALM)" },
    { .name = "http2_max_control_frames", .type = CONFIG_T_NUMBER,
      MAIN(http2_max_control_frames), .def = "1000", .min = 10, .max = 1000000,
      .group = G_H2,
      .help = "SETTINGS, PING, PRIORITY and empty frames a client may send in 10 seconds on "
              "one connection; past it the connection ends with GOAWAY(ENHANCE_YOUR_CALM)" },
    { .name = "http2_goaway_timeout", .type = CONFIG_T_DURATION, MAIN(http2_goaway_timeout_ms),
      .def = "1s", .min = 10, .max = 60 * MS_S, .group = G_H2,
      .help = "Longest wait between the first GOAWAY of a graceful end and the second one "
              "(with the real last stream), when the PING sent with the first is not "
              "answered sooner" },

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
              "Apache's mod_reqtimeout MinRate), counted from the body's start; time the "
              "body waits for the server (its disk) does not count; slower uploads get 408; "
              "0 turns it off" },
    { .name = "io_wait_timeout", .type = CONFIG_T_DURATION, MAIN(io_wait_timeout_ms),
      .def = "60s", .min = 1, .max = MS_H, .group = G_TIME,
      .help = "How long a connection waits for an I/O thread's file operation (an fsync on "
              "a stalled disk); past it the connection is closed without an answer, and "
              "the operation still completes or fails on its own, never half done" },
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

    { .name = "access_log", .type = CONFIG_T_STRING, SRV(access_log), .def = "stderr",
      .args = "PATH|stderr|off", .group = G_LOG,
      .help = "Where each response is logged; lines are buffered and written once per loop "
              "iteration; off logs nothing; SIGUSR1 reopens the file. A server block may have "
              "its own; requests refused before a site is known (a malformed head, a 408) go "
              "to the main level's" },
    { .name = "access_log_format", .type = CONFIG_T_STRING, SRV(access_log_format),
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

    { .name = "proxy_protocol_from", .type = CONFIG_T_CIDRS, MAIN(proxy_protocol_from),
      .count_off = offsetof(struct config, proxy_protocol_from_count), .group = G_LB,
      .help = "Balancers allowed to send a PROXY header to a proxy_protocol listener "
              "(repeatable, at most 32 in all); a connection from anywhere else is closed "
              "at once, unanswered, and counted; a proxy_protocol listener needs it" },
    { .name = "proxy_protocol_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_protocol_timeout_ms), .def = "5s", .min = 10, .max = MS_M, .group = G_LB,
      .help = "How long a connection on a proxy_protocol listener may take to send its whole "
              "PROXY header; then it is closed and counted (header_timeout and "
              "tls_handshake_timeout start after the header)" },
    { .name = "proxy_protocol_max_bytes", .type = CONFIG_T_SIZE,
      MAIN(proxy_protocol_max_bytes), .def = "2k", .min = 232, .max = 65551, .group = G_LB,
      .help = "Longest PROXY v2 header (16 bytes and its length field: addresses and TLVs) "
              "accepted; a longer one is cut at its first 16 bytes and counted (v1 has its "
              "own bound, 107 bytes)" },
    { .name = "real_ip_from", .type = CONFIG_T_CIDRS, MAIN(real_ip_from),
      .count_off = offsetof(struct config, real_ip_from_count), .group = G_LB,
      .help = "HTTP balancers whose real_ip_header is believed (repeatable, at most 32 in "
              "all); a request from anywhere else keeps its connection's address" },
    { .name = "real_ip_header", .type = CONFIG_T_ENUM, MAIN(real_ip_header), .def = "off",
      .names = config_real_ip_names, .group = G_LB,
      .help = "For a request from a real_ip_from address, the client address is read from "
              "this field: X-Forwarded-For takes the right-most address that is not in "
              "real_ip_from (nginx's realip with real_ip_recursive on), X-Real-IP the one "
              "address it holds; off believes no field" },
    { .name = "health_path", .type = CONFIG_T_STRING, MAIN(health_path),
      .args = "PATH", .check = config_check_url_path, .group = G_LB,
      .help = "Path a balancer's health check asks (GET or HEAD, from anyone): 200 while "
              "the server serves, 503 with Connection: close from the moment a graceful "
              "stop, drain_delay or a reload's drain begins; \"\" turns it off" },
    { .name = "drain_delay", .type = CONFIG_T_DURATION, MAIN(drain_delay_ms), .def = "0s",
      .min = 0, .max = 10 * MS_M, .group = G_LB,
      .help = "On SIGQUIT, keep serving this long with health_path failing (so the "
              "balancer's health check takes the server out first), then stop gracefully; "
              "0 stops at once (a reload never waits)" },

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
    { .name = "upload_fsync", .type = CONFIG_T_BOOL, MAIN(upload_fsync), LOC(upload_fsync),
      .def = "on", .group = G_LOC,
      .help = "Make an upload durable (fsync of the file and its directory) before it is "
              "answered. off is for scratch areas: faster, but a crash or power loss may "
              "lose the last seconds of uploads the clients were told had succeeded (the "
              "replace stays atomic: the old file or the whole new one)" },

    { .name = "add_header", .type = CONFIG_T_HEADER, MAIN(headers), LOC(headers),
      .group = G_HEAD,
      .help = "Add this response field (Cache-Control, Strict-Transport-Security, "
              "Content-Security-Policy, ...) to 200, 201, 204, 206, 301, 302, 303, 304, 307 and "
              "308 responses, or with always to every response, error pages included. "
              "Repeatable; a level that has any add_header does not inherit the level above's "
              "(as nginx). The name must be a token and the value visible characters; fields "
              "the server frames the message with (Content-Length, Transfer-Encoding, "
              "Connection, ...), Date and Server cannot be added" },
    { .name = "expires", .type = CONFIG_T_EXPIRES, MAIN(expires_s), LOC(expires_s),
      .def = "off", .min = 0, .max = 3650ull * 24 * MS_H, .group = G_HEAD,
      .help = "Expires and Cache-Control: max-age for the statuses add_header uses: a "
              "duration from now (rounded up to seconds); epoch: already expired, with "
              "Cache-Control: no-cache; max: 10 years; off: neither field" },
    { .name = "default_type", .type = CONFIG_T_STRING, MAIN(default_type), LOC(default_type),
      .def = "application/octet-stream", .args = "TYPE", .check = config_check_default_type,
      .group = G_HEAD,
      .help = "Content-Type of a file whose extension the MIME table does not know" },

    { .name = "error_page", .type = CONFIG_T_ERROR_PAGE, MAIN(error_pages), LOC(error_pages),
      .group = G_REDIR,
      .help = "Answer these statuses (400-599) with this file of the site instead of the "
              "built-in page, keeping the status (an internal lookup, not a redirect: no "
              "location, range or condition applies to it); a page that is missing or "
              "cannot be read falls back to the built-in one. Repeatable (at most 32 "
              "statuses a level); a level that has any error_page does not inherit the "
              "level above's (as add_header)" },
    { .name = "return", .type = CONFIG_T_RETURN, LOC(ret), .group = G_REDIR,
      .help = "Answer every request here at once, before methods and authentication are "
              "checked: 301, 302, 303, 307 or 308 redirect to the URL, in which $scheme, "
              "$host (the request's host, no port) and $request_uri (path and query as sent) "
              "are replaced; 200 or 400-599 send TEXT as text/plain, or without TEXT the "
              "status's error page; 204 sends nothing. In a server block it covers every "
              "location that has no return of its own" },
    { .name = "absolute_redirect", .type = CONFIG_T_BOOL, MAIN(absolute_redirect),
      LOC(absolute_redirect), .def = "off", .group = G_REDIR,
      .help = "The redirect of a directory asked for without its trailing slash (301 to "
              "PATH/, query kept) sends an absolute Location (scheme, the Host as sent, path) "
              "instead of the path alone; both are valid (RFC 9110 10.2.2)" },
    { .name = "fallback", .type = CONFIG_T_STRING, LOC(fallback), .args = "PATH",
      .check = config_check_fallback, .group = G_REDIR,
      .help = "A GET or HEAD for a file that does not exist here is answered with this file "
              "of the site's root instead, with 200 (single-page applications: "
              "fallback /index.html); the fallback is not routed again, and if it is missing "
              "too the answer is 404" },

    { .name = "precompressed", .type = CONFIG_T_KEYWORDS, MAIN(precompressed),
      LOC(precompressed), .def = "off", .names = config_precompressed_names,
      .args = "off|br|gzip...", .group = G_GZIP,
      .help = "Serve FILE.br or FILE.gz in place of FILE when the client accepts that "
              "coding (Accept-Encoding, q-values honoured) and the sibling is a regular file "
              "not older than FILE; with its own ETag, ranges and conditionals on its bytes, "
              "and Vary: Accept-Encoding whenever a sibling exists; off serves none" },
    { .name = "gzip", .type = CONFIG_T_BOOL, MAIN(gzip), LOC(gzip), .def = "off",
      .group = G_GZIP,
      .help = "Compress responses of gzip_types on the fly for clients that accept gzip "
              "(not ranges, not files with a precompressed sibling chosen); compressed files "
              "are kept in gzip_cache_size, so a file is compressed once per change" },
    { .name = "gzip_types", .type = CONFIG_T_WORDS, MAIN(gzip_types), LOC(gzip_types),
      .def = "text/html text/css text/plain text/xml text/javascript application/javascript "
             "application/json application/xml application/manifest+json image/svg+xml",
      .args = "TYPE...", .check = config_check_media_type, .group = G_GZIP,
      .help = "Media types gzip compresses (as mime_types_file names them; TYPE/* and * "
              "match more); already compressed formats (images, archives, fonts) gain "
              "nothing" },
    { .name = "gzip_min_length", .type = CONFIG_T_SIZE, MAIN(gzip_min_length),
      LOC(gzip_min_length), .def = "256", .min = 0, .max = GIB, .group = G_GZIP,
      .help = "Smaller files are sent as they are: the gzip framing (18 bytes) and a "
              "Content-Encoding field eat what little would be saved" },
    { .name = "gzip_level", .type = CONFIG_T_NUMBER, MAIN(gzip_level), LOC(gzip_level),
      .def = "6", .min = 1, .max = 9, .group = G_GZIP,
      .help = "zlib compression level, 1 (fastest) to 9 (smallest); the work is done once "
              "per file and cached, so a high level costs little" },
    { .name = "gzip_cache_size", .type = CONFIG_T_SIZE, MAIN(gzip_cache_size), .def = "16m",
      .min = 0, .max = 16 * GIB, .group = G_GZIP,
      .help = "Compressed bytes each worker keeps (least recently used evicted first), keyed "
              "by the file's device, inode, size and modification time, so a changed file is "
              "compressed again; 0 keeps none and compresses every response" },
    { .name = "gzip_cache_max_file", .type = CONFIG_T_SIZE, MAIN(gzip_cache_max_file),
      .def = "1m", .min = 0, .max = GIB, .group = G_GZIP,
      .help = "Largest file compressed on the fly (the worker compresses it in one go, about "
              "25 ms per MiB of text at level 6, during which it serves nothing else); larger "
              "files are sent uncompressed: precompress them" },

    { .name = "autoindex", .type = CONFIG_T_BOOL, MAIN(autoindex), LOC(autoindex),
      .def = "off", .group = G_LIST,
      .help = "List a directory that has no index file (GET and HEAD): HTML, or JSON with "
              "?format=json or Accept: application/json; names starting with '.' are never "
              "listed" },
    { .name = "autoindex_max_entries", .type = CONFIG_T_NUMBER, MAIN(autoindex_max_entries),
      LOC(autoindex_max_entries), .def = "1000", .min = 1, .max = 100000, .group = G_LIST,
      .help = "Most entries one listing reads and shows (each costs a stat while the worker "
              "waits); a larger directory's listing says it is cut short" },

    { .name = "proxy_pass", .type = CONFIG_T_STRING, LOC(proxy_pass),
      .args = "ADDR[,ADDR...]", .check = proxy_addr_check_list, .group = G_PROXY,
      .help = "Pass this location's requests to HTTP/1.1 upstreams, round-robin: "
              "127.0.0.1:8000, [::1]:8000, app.internal:8000 or unix:/run/app.sock, "
              "separated by commas; a host name is resolved when the configuration is "
              "loaded (start, -t, every reload), each of its addresses an upstream, and a "
              "name that does not resolve is an error (docs/proxy.md)" },
    { .name = "proxy_connect_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_connect_timeout_ms), .def = "5s", .min = 10, .max = MS_M, .group = G_PROXY,
      .help = "Longest wait for a connect to an upstream; then 504 (or the next upstream)" },
    { .name = "proxy_send_timeout", .type = CONFIG_T_DURATION, MAIN(proxy_send_timeout_ms),
      .def = "60s", .min = 10, .max = MS_H, .group = G_PROXY,
      .help = "Longest wait between two writes of a request to an upstream that make "
              "progress; then 504" },
    { .name = "proxy_read_timeout", .type = CONFIG_T_DURATION, MAIN(proxy_read_timeout_ms),
      .def = "60s", .min = 10, .max = MS_H, .group = G_PROXY,
      .help = "Longest wait between two reads of a response from an upstream; then 504 "
              "(or a cut response)" },
    { .name = "proxy_continue_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_continue_timeout_ms), .def = "1s", .min = 10, .max = MS_M, .group = G_PROXY,
      .help = "With Expect: 100-continue, how long to wait for the upstream's 100 (or its "
              "answer) before asking the client for its body anyway" },
    { .name = "proxy_tunnel_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_tunnel_timeout_ms), .def = "60s", .min = 10, .max = MS_H, .group = G_PROXY,
      .help = "After a 101 (WebSocket and other Upgrade tunnels): how long the tunnel may "
              "carry no byte either way before lingerd closes both sides" },
    { .name = "proxy_tunnel_drain_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_tunnel_drain_timeout_ms), .def = "5s", .min = 0, .max = MS_H,
      .group = G_PROXY,
      .help = "During a graceful stop or reload: how long after the drain began an open "
              "tunnel (WebSocket) may still run before lingerd ends both sides with a FIN; "
              "0 ends tunnels when the drain begins. Bounds how long an old worker lives "
              "for its tunnels, below shutdown_timeout" },
    { .name = "proxy_request_buffering", .type = CONFIG_T_BOOL, MAIN(proxy_request_buffering),
      LOC(proxy_request_buffering), .def = "off", .group = G_PROXY,
      .help = "Read the whole request body (up to body_max_bytes) into an unnamed temporary "
              "file before connecting to the upstream, then send it with its "
              "Content-Length: a slow client never holds an application worker. Off: "
              "bodies stream, and early answers stop the upload" },
    { .name = "proxy_temp_path", .type = CONFIG_T_PATH, MAIN(proxy_temp_path), .def = "/tmp",
      .group = G_PROXY,
      .help = "Directory of proxy_request_buffering's temporary files (unnamed: nothing is "
              "left behind); a local file system with O_TMPFILE is best" },
    { .name = "proxy_header_max_bytes", .type = CONFIG_T_SIZE, MAIN(proxy_header_max_bytes),
      .def = "16k", .min = 1024, .max = MIB, .group = G_PROXY,
      .help = "Largest response head an upstream may send; a larger one gets 502" },
    { .name = "proxy_buffer_bytes", .type = CONFIG_T_SIZE, MAIN(proxy_buffer_bytes),
      .def = "64k", .min = 4096, .max = 16 * MIB, .group = G_PROXY,
      .help = "Each upstream connection's send and receive buffer; bodies stream through "
              "them with back-pressure, and a request still wholly in its send buffer may "
              "be retried" },
    { .name = "proxy_keepalive_conns", .type = CONFIG_T_NUMBER, MAIN(proxy_keepalive_conns),
      .def = "32", .min = 0, .max = 100000, .group = G_PROXY,
      .help = "Idle upstream connections kept per upstream and worker; 0 closes each "
              "after its response" },
    { .name = "proxy_keepalive_timeout", .type = CONFIG_T_DURATION,
      MAIN(proxy_keepalive_timeout_ms), .def = "1s", .min = 0, .max = MS_H, .group = G_PROXY,
      .help = "How long an idle upstream connection is kept; below the application "
              "server's own keep-alive (gunicorn: 2s) so that lingerd closes first" },
    { .name = "proxy_fail_max", .type = CONFIG_T_NUMBER, MAIN(proxy_fail_max), .def = "3",
      .min = 1, .max = 1000, .group = G_PROXY,
      .help = "Failures in a row (refused, reset, timeout) after which an upstream is "
              "skipped for proxy_fail_timeout" },
    { .name = "proxy_fail_timeout", .type = CONFIG_T_DURATION, MAIN(proxy_fail_timeout_ms),
      .def = "10s", .min = 10, .max = MS_H, .group = G_PROXY,
      .help = "How long an upstream that failed proxy_fail_max times is skipped" },
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
