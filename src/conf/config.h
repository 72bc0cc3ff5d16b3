/* config — every setting the server has, in one directive table.
 *
 * The table in config_table.c (name, type, default, bounds, scope, help) is the
 * single source of truth: defaults, the configuration file, validation,
 * `lingerd -h` and docs/directives.md all come from it. A setting that is
 * not in the table does not exist.
 */
#ifndef LINGERD_CONFIG_H
#define LINGERD_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "log.h"
#include "vhost.h"

#define CONFIG_LISTEN_MAX 16
#define CONFIG_LOCATION_MAX 64
#define CONFIG_PATTERN_MAX 16
#define CONFIG_CIDR_MAX 32
#define CONFIG_TLS_CERT_MAX 16
#define CONFIG_WHERE_MAX 256 /* "FILE:LINE" kept for messages after the parse */
#define CONFIG_SERVER_MAX 64
#define CONFIG_SERVER_NAMES_MAX 16

enum config_linger {
    CONFIG_LINGER_ON,     /* linger when the client may still be sending */
    CONFIG_LINGER_ALWAYS, /* linger after every close the server starts */
    CONFIG_LINGER_OFF,    /* plain close(): Apache's NO_LINGCLOSE */
};

/* Where a client address behind an HTTP balancer is read from. */
enum config_real_ip {
    CONFIG_REAL_IP_OFF,
    CONFIG_REAL_IP_X_FORWARDED_FOR, /* the right-most address not in real_ip_from */
    CONFIG_REAL_IP_X_REAL_IP,       /* the one address the field holds */
};

/* "on", "always", "off". */
const char *config_linger_name(enum config_linger l);

/* What an upload does when the I/O threads' queue is full (io_queue_full). */
enum config_io_full {
    CONFIG_IO_FULL_WAIT,   /* wait for room, reading no more of the body */
    CONFIG_IO_FULL_REFUSE, /* answer 503 with Retry-After */
};

struct config_listen {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int backlog;
    bool tls;                     /* connections speak TLS first (HTTPS) */
    bool proxy_protocol;          /* a PROXY header comes before anything else */
    char text[80];                /* as written, for messages */
    char where[CONFIG_WHERE_MAX]; /* "FILE:LINE", or "" from the command line */
};

/* TLS protocol versions, oldest first; tls_protocols is a bit set of them.
 * Nothing older than TLS 1.2 exists here: RFC 8996 deprecates 1.0 and 1.1. */
enum config_tls_protocol {
    CONFIG_TLS_1_2,
    CONFIG_TLS_1_3,
    CONFIG_TLS_PROTOCOL_COUNT
};

/* One tls_certificate line: PEM files (the certificate file may hold the
 * chain after the leaf) and where it was written, for messages. */
struct config_tls_cert {
    char *cert_file;
    char *key_file;
    char where[CONFIG_WHERE_MAX];
};

/* An address or network: family 4 or 6, the address in network order (4 or
 * 16 bytes used) and the prefix length in bits. */
struct config_cidr {
    uint8_t family;
    uint8_t prefix_bits;
    uint8_t addr[16];
};

struct auth_users;
struct proxy_addr_list;

/* add_header: the fields of one level, formatted "Name: value\r\n..." once
 * at load; ok for the statuses nginx adds them to (2xx as served, 3xx),
 * always for every response. NULL: none. */
struct config_headers {
    char *ok;
    char *always;
};

/* return CODE [URL|TEXT]: status 0 when not set. */
struct config_return {
    int status;
    bool redirect; /* text is a Location template (301, 302, 303, 307, 308) */
    char *text;    /* the template, the body (text/plain), or NULL */
};

/* error_page CODE... URI: a page per status, all of one level. */
#define CONFIG_ERROR_PAGES_MAX 32
struct config_error_pages {
    uint16_t status[CONFIG_ERROR_PAGES_MAX];
    char *uri[CONFIG_ERROR_PAGES_MAX]; /* a path of the site, decoded */
    size_t n;
};

/* expires: seconds from now, or one of these. */
#define CONFIG_EXPIRES_OFF (-1)
#define CONFIG_EXPIRES_EPOCH (-2)
#define CONFIG_EXPIRES_MAX (-3)

/* Per-URL-prefix policy. The longest matching prefix wins; "/" always exists. */
struct config_location {
    char *prefix;
    size_t prefix_len;
    unsigned methods;          /* bit (1u << enum http1_method) per allowed method */
    char *auth_realm;          /* NULL: no authentication */
    char *auth_user_file;
    struct auth_users *users;  /* loaded from auth_user_file */
    uint64_t body_max_bytes;
    bool create_dirs;
    unsigned file_mode;
    bool upload_fsync;         /* off: no fsync before the answer (scratch areas) */
    bool keepalive;
    enum config_linger lingering_close;
    struct config_headers headers; /* add_header */
    int64_t expires_s;         /* expires: seconds, or CONFIG_EXPIRES_* */
    char *default_type;        /* Content-Type of a file whose extension is unknown */
    struct config_return ret;  /* return: answered before anything else */
    struct config_error_pages error_pages;
    char *fallback;            /* a missing file serves this path instead; NULL: off */
    bool absolute_redirect;    /* the directory redirect's Location has scheme and host */
    bool adds_fields;          /* add_header or expires is set: conn_resp_end has work */
    uint32_t site;             /* index of its server in config.sites */
    char *proxy_pass;          /* NULL: served here; else upstream addresses (proxy.c) */
    struct proxy_addr_list *proxy_peers; /* proxy_pass resolved by config_finish */
    bool proxy_request_buffering; /* the whole body to a file before the upstream */
    /* compression (compress.c) and listings (autoindex.c) */
    unsigned precompressed;    /* bit (1u << enum accept_coding) per sibling served */
    bool gzip;                 /* compress on the fly */
    char *gzip_types;          /* media types, one space between */
    uint64_t gzip_min_length;
    uint32_t gzip_level;
    bool autoindex;
    uint32_t autoindex_max_entries;
    uint64_t set_mask;         /* private: directives set in this block */
    char *where;               /* private: "FILE:LINE" of the block, for messages */
    char *auth_user_file_where; /* private: "FILE:LINE" of auth_user_file */
    char *proxy_pass_where;    /* private: "FILE:LINE" of proxy_pass */
    bool proxy_pass_failed;    /* private: its resolution failed (not tried again) */
};

/* server_name: the host names of one server block, each with where it was
 * written (for the duplicate check's message). */
struct config_names {
    char *v[CONFIG_SERVER_NAMES_MAX];
    char *where[CONFIG_SERVER_NAMES_MAX];
    size_t n;
};

struct vhost_table;

/* One site: a `server { }` block, or the top level when there is none.
 * Its own values of the server directives (root, index, server_name), the
 * server-level values of location directives (in defaults, which its
 * locations inherit) and its locations. */
struct config_server {
    struct config_names names;
    char *root;
    char *index;
    char *access_log;        /* path, "stderr" or "off" */
    char *access_log_format; /* "combined", "json" or a $field format */
    bool default_server;
    struct config_location defaults; /* prefix NULL: never matched, only inherited */
    struct config_location locations[CONFIG_LOCATION_MAX]; /* [0] is "/" after finish */
    size_t location_count;
    uint32_t site;                   /* its index in config.sites */
    uint64_t set_mask;               /* private: server directives set in this block */
    char *where;                     /* private: "FILE:LINE" of the block */
};

struct config {
    /* where and what */
    struct config_listen listens[CONFIG_LISTEN_MAX];
    size_t listen_count;
    char *mime_types_file;
    char *server_header;     /* value of the Server response field */
    int64_t defer_accept_ms;  /* <0: off */
    uint64_t accept_retry_delay_ms;
    uint64_t auth_cache_time_ms;
    uint32_t file_cache_entries;
    uint64_t file_cache_valid_ms;
    uint64_t file_cache_file_max_bytes;

    /* processes */
    bool master_process;
    uint32_t workers;        /* 0: one per core */
    char *user;
    char *group;
    bool run_as_root;
    char *pid_file;
    uint64_t shutdown_timeout_ms;
    uint64_t shutdown_linger_ms;
    uint64_t shutdown_idle_grace_ms;
    uint64_t shutdown_close_spread_ms;
    uint32_t rlimit_nofile;
    uint64_t worker_restart_delay_max_ms;

    /* TLS (HTTPS) */
    struct config_tls_cert tls_certificates[CONFIG_TLS_CERT_MAX]; /* [0]: the default */
    size_t tls_certificate_count;
    unsigned tls_protocols;  /* bit (1u << enum config_tls_protocol) */
    char *tls_ciphers;       /* TLS 1.2 cipher list, OpenSSL syntax */
    char *tls_ciphersuites;  /* TLS 1.3 suites, OpenSSL syntax */
    bool tls_session_tickets;
    uint64_t tls_ticket_key_rotation_ms;
    uint64_t tls_handshake_timeout_ms;
    bool ktls;
    bool https_redirect;
    int64_t hsts_ms;         /* <0: off */

    /* HTTP/2 (docs/http2.md) */
    bool http2;                       /* TLS listeners offer h2 by ALPN */
    bool http2_cleartext;             /* plain listeners take h2 with prior knowledge */
    uint32_t http2_max_concurrent_streams;
    uint32_t http2_stream_window;     /* SETTINGS_INITIAL_WINDOW_SIZE */
    uint32_t http2_connection_window;
    uint32_t http2_max_frame_size;
    uint32_t http2_max_header_list_size; /* 0: header_max_bytes */
    uint32_t http2_max_resets;        /* per 10 s window */
    uint32_t http2_max_continuations;
    uint32_t http2_max_control_frames; /* per 10 s window */
    uint64_t http2_goaway_timeout_ms;

    /* request limits */
    uint32_t request_line_max_bytes;
    uint32_t field_line_max_bytes;
    uint32_t header_max_bytes;
    uint32_t header_fields_max;
    uint32_t chunk_line_max_bytes;
    uint32_t trailer_max_bytes;
    uint64_t discard_body_max_bytes;
    uint32_t pipeline_max_bytes;
    uint32_t connections_max;
    uint32_t ranges_max;
    uint64_t multipart_max_bytes;
    uint64_t upload_writeback_bytes; /* 0: off */
    uint64_t upload_dirty_max_bytes; /* written, not yet handed to the disk; 0: no bound */
    uint64_t upload_buffer_bytes;    /* each upload has two */
    bool upload_splice;              /* plain TCP bodies: socket -> pipe -> file */
    uint32_t io_threads;             /* per worker */
    uint32_t io_queue_max;           /* jobs waiting for a thread */
    enum config_io_full io_queue_full;
    uint64_t io_wait_timeout_ms;

    /* timeouts */
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t body_min_rate;  /* bytes per second; 0: off */
    uint64_t send_timeout_ms;
    uint64_t keepalive_timeout_ms;
    uint32_t keepalive_requests;
    bool keepalive_header;
    char *nokeepalive_user_agents[CONFIG_PATTERN_MAX];
    size_t nokeepalive_count;
    regex_t nokeepalive_re[CONFIG_PATTERN_MAX];

    /* the close */
    uint64_t lingering_time_ms;
    uint64_t lingering_timeout_ms;
    uint64_t lingering_max_bytes;
    uint32_t lingering_max_conns;
    uint64_t idle_close_linger_ms;
    uint64_t fin_wait2_timeout_ms;
    int64_t so_linger_ms; /* <0: not set */

    /* logs and status (access_log and its format: top and each site) */
    char *error_log;         /* path or "stderr" */
    enum log_level log_level;
    char *status_path;       /* "" when off */
    char *metrics_path;      /* "" when off */
    struct config_cidr status_allow[CONFIG_CIDR_MAX];
    size_t status_allow_count;

    /* reverse proxy (proxy.c, upstream.c) */
    uint64_t proxy_connect_timeout_ms;
    uint64_t proxy_send_timeout_ms;
    uint64_t proxy_read_timeout_ms;
    uint64_t proxy_continue_timeout_ms;
    uint64_t proxy_tunnel_timeout_ms;
    uint64_t proxy_tunnel_drain_timeout_ms;
    bool proxy_request_buffering;
    char *proxy_temp_path;
    uint32_t proxy_header_max_bytes;
    uint32_t proxy_buffer_bytes;
    uint32_t proxy_keepalive_conns;
    uint64_t proxy_keepalive_timeout_ms; /* 0: no pool */
    uint32_t proxy_fail_max;
    uint64_t proxy_fail_timeout_ms;
    /* behind a load balancer */
    struct config_cidr proxy_protocol_from[CONFIG_CIDR_MAX];
    size_t proxy_protocol_from_count;
    uint64_t proxy_protocol_timeout_ms;
    uint64_t proxy_protocol_max_bytes;
    struct config_cidr real_ip_from[CONFIG_CIDR_MAX];
    size_t real_ip_from_count;
    enum config_real_ip real_ip_header;
    char *health_path;       /* "" when off */
    uint64_t drain_delay_ms;


    /* sites: the top level holds root, index and locations when there are no
     * server blocks, and the defaults they inherit when there are. After
     * config_finish, sites[] are the servers a request may be routed to:
     * &top alone, or every server block in file order; vhosts picks one by
     * Host (NULL with a single site: no lookup at all). */
    struct config_server top;
    struct config_server *servers[CONFIG_SERVER_MAX]; /* server blocks, owned */
    size_t server_count;
    struct config_server *sites[CONFIG_SERVER_MAX];
    size_t site_count;
    uint32_t default_site;
    struct vhost_table *vhosts;
    /* private: leave proxy_pass host names unresolved (`lingerd -s` reads
     * the configuration for pid_file only, and must work while DNS does not) */
    bool skip_resolve;

    /* the lingering_close directive applies to locations; the main-level value
     * is the default for new locations and for closes with no request. */
    enum config_linger lingering_close;
    bool keepalive;
    uint64_t body_max_bytes;
    unsigned methods;
    unsigned file_mode;
    bool create_dirs;
    bool upload_fsync;
    struct config_headers headers;
    int64_t expires_s;
    char *default_type;
    bool absolute_redirect;
    struct config_error_pages error_pages;
    unsigned precompressed;
    bool gzip;
    char *gzip_types;
    uint64_t gzip_min_length;
    uint32_t gzip_level;
    bool autoindex;
    uint32_t autoindex_max_entries;
    /* main only: each worker's cache of compressed files */
    uint64_t gzip_cache_size;
    uint64_t gzip_cache_max_file;
};

/* Fill cfg with the defaults of the table. 0, or -ENOMEM. */
int config_init_defaults(struct config *cfg);

/* Release what cfg owns (strings, regexes, loaded user files). */
void config_fini(struct config *cfg);

/* Set one directive from text, as the file and the command line do.
 * loc is NULL at main level. Returns 0, or writes a message to err and
 * returns -1. */
int config_set(struct config *cfg, struct config_location *loc, const char *name,
               const char *const *args, size_t nargs, char *err, size_t errlen);

/* config_set inside a server block (srv non-NULL; loc NULL for the block's
 * own level). */
int config_set_in(struct config *cfg, struct config_server *srv, struct config_location *loc,
                  const char *name, const char *const *args, size_t nargs, char *err,
                  size_t errlen);

/* Add an empty location block for prefix (which must start with '/'); its
 * unset values come from main in config_finish. NULL with a message in err
 * for a bad or duplicate prefix or past CONFIG_LOCATION_MAX. */
struct config_location *config_add_location(struct config *cfg, const char *prefix, char *err,
                                            size_t errlen);
/* The same inside server block srv (NULL: the top level). */
struct config_location *config_add_location_in(struct config *cfg, struct config_server *srv,
                                               const char *prefix, char *err, size_t errlen);

/* Add an empty server block; its unset values come from the top level in
 * config_finish. NULL with a message in err past CONFIG_SERVER_MAX. */
struct config_server *config_add_server(struct config *cfg, char *err, size_t errlen);

/* The site that answers a request for host name[0..len) (the Host field or
 * the absolute-form authority, without its port: http1_request's
 * host_name_len): by server_name, else the default server. Inline: it runs
 * on every request. */
static inline const struct config_server *config_find_site(const struct config *cfg,
                                                           const char *host, size_t len)
{
    return cfg->vhosts ? cfg->sites[vhost_select(cfg->vhosts, host, len)] : cfg->sites[0];
}

/* Is addr (4 or 16 bytes, network order, family 4 or 6) in one of the
 * networks of list[0..n)? An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * matches as IPv4. */
bool config_cidr_match(const struct config_cidr *list, size_t n, int family,
                       const uint8_t *addr);

/* True when some listen has the tls flag. */
bool config_has_tls_listener(const struct config *cfg);

/* Read a whole regular file of at most max_bytes (configuration files,
 * and the certificate and key files they name): 0 with a malloc'ed *buf
 * (the caller frees it) and *len, or -1 with the reason in err (strerror,
 * "is a directory", "not a regular file", "file too large (max N bytes)"). */
int config_read_file(const char *path, size_t max_bytes, char **buf, size_t *len, char *err,
                     size_t errlen);

/* Load a configuration file (with includes) over cfg. 0, or -1 after
 * printing every error as "FILE:LINE: message" to errs. */
int config_load_file(struct config *cfg, const char *path, FILE *errs);

/* Finish a configuration: compile patterns, load user files, resolve the
 * host names of proxy_pass (getaddrinfo: blocks; this runs before workers
 * exist), add defaults such as the "/" location and the default listen. 0
 * or -1 (errors printed). */
int config_finish(struct config *cfg, FILE *errs);

/* The location of site for a decoded path (longest prefix). Never NULL
 * after finish. */
const struct config_location *config_find_location(const struct config_server *site,
                                                   const char *path, size_t len);

/* Print the directive reference: "text" for -h, "markdown" for the docs,
 * "man" for lingerd.conf(5), "conf" for the commented conf/lingerd.conf. */
void config_print_reference(FILE *out, const char *format);

/* The current value of a directive as it would be written ("8k", "20s",
 * "GET HEAD"); repeatable ones one per line. loc NULL: the main value.
 * 0, or -1 for an unknown name, a scope it does not have, or a short buf. */
int config_format_value(const struct config *cfg, const struct config_location *loc,
                        const char *name, char *buf, size_t len);

/* The directive table, read-only, for tests and tools: count, and row i's
 * name and default text (NULL: no default). */
size_t config_directive_count(void);
const char *config_directive_name(size_t i);
const char *config_directive_default(size_t i);

/* Parse "1s", "250ms", "2m", "1h", "7d" into ms; "8k", "1m", "1g" into bytes.
 * 0 or -1 on a malformed value. */
int config_parse_duration_ms(const char *s, uint64_t *ms);
int config_parse_size(const char *s, uint64_t *bytes);

#endif
