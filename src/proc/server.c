/* server — a worker's listeners, accept path, shared caches and shutdown.
 *
 * Accepting: listeners are level-triggered; each wake accepts a bounded
 * batch so one busy listener cannot starve established connections. At
 * connections_max, or when the process runs out of descriptors (EMFILE,
 * ENFILE), the oldest lingering connection is shed first — lingering must
 * never keep a new client out — and if none is lingering, accepting pauses
 * (no spinning on a ready listener) until a connection closes or a short
 * retry deadline passes.
 */
#include "server.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "conn.h"
#include "compress_cache.h"
#include "errorpage.h"
#include "filecache.h"
#include "http2.h"
#include "httpdate.h"
#include "iopool.h"
#include "log.h"
#include "mime.h"

#define SERVER_ACCEPTS_PER_WAKE 64
/* Work areas kept for reuse beyond those in use: enough for bursts of
 * concurrently active requests, few enough that idle connections do not
 * pin memory (each is about 10 KiB). */
#define SERVER_BUF_FREE_MAX 64
/* Bytes of nghttp2's freed blocks a worker keeps: its streams' blocks
 * (about 1.2 KiB a stream) for a few hundred streams in flight. */
#define SERVER_H2_MEM_KEEP_BYTES (512 * 1024)

static void server_on_accept(struct loop_watch *w, uint32_t events);

static void server_pause_accepting(struct server *srv, bool with_retry)
{
    for (size_t i = 0; i < srv->listener_count; i++) {
        struct server_listener *l = &srv->listeners[i];
        if (!l->paused) {
            loop_unwatch(srv->loop, &l->watch);
            l->paused = true;
        }
    }
    if (with_retry)
        loop_arm(srv->loop, &srv->accept_retry,
                 loop_now_ms(srv->loop) + srv->cfg->accept_retry_delay_ms);
}

static void server_resume_accepting(struct server *srv)
{
    if (srv->stopping)
        return;
    for (size_t i = 0; i < srv->listener_count; i++) {
        struct server_listener *l = &srv->listeners[i];
        if (l->paused && loop_watch(srv->loop, &l->watch, l->events) == 0)
            l->paused = false;
    }
}

static void server_on_accept_retry(struct loop_timer *t)
{
    struct server *srv = (struct server *)((char *)t - offsetof(struct server, accept_retry));
    server_resume_accepting(srv);
}

/* Timers armed besides one per connection (accept retry, grace, drain). */
#define SERVER_FIXED_TIMERS 8

int server_reserve_timers(struct server *srv, size_t more)
{
    return loop_reserve_timers(srv->loop, (size_t)srv->conn_count + srv->upstream_count + more +
                                              SERVER_FIXED_TIMERS);
}

bool server_retry_open(struct server *srv, int rc)
{
    return (rc == -EMFILE || rc == -ENFILE) && server_shed_lingering(srv);
}

bool server_shed_lingering(struct server *srv)
{
    if (!srv->linger_first)
        return false;
    conn_abort(srv->linger_first);
    return true;
}

void server_after_iteration(struct server *srv)
{
    conn_resume_ready(srv);
    if (srv->ready_first)
        loop_poll_next(srv->loop); /* do not sleep: some still have work */
    conn_free_closed(srv);
    proxy_after_iteration(srv);
    bool any_paused = false;
    for (size_t i = 0; i < srv->listener_count; i++)
        any_paused |= srv->listeners[i].paused;
    /* Room again, or a lingering connection that a new client may displace
     * (lingering never keeps a new client out). */
    if (any_paused && (srv->conn_count < srv->cfg->connections_max || srv->linger_first) &&
        !timer_is_armed(&srv->accept_retry.node))
        server_resume_accepting(srv);
    accesslog_flush();
    log_flush();
}

/* A proxy_protocol listener takes headers only from proxy_protocol_from:
 * anyone else could name any client address. Refused with a plain close
 * (nothing is read or answered), counted, and logged at most once per
 * SERVER_UNTRUSTED_LOG_EVERY (a scan must not flood the log). */
#define SERVER_UNTRUSTED_LOG_EVERY 1000
static bool server_proxy_trusted(struct server *srv, const struct sockaddr_storage *peer)
{
    const struct config *cfg = srv->cfg;
    uint8_t addr[16];
    int family;
    if (peer->ss_family == AF_INET6) {
        family = 6;
        memcpy(addr, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
    } else if (peer->ss_family == AF_INET) {
        family = 4;
        memcpy(addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    } else {
        return false;
    }
    if (config_cidr_match(cfg->proxy_protocol_from, cfg->proxy_protocol_from_count, family, addr))
        return true;
    uint64_t *n = &srv->stats->proxy_failures[STATS_PROXY_FAIL_UNTRUSTED];
    stats_add(n, 1);
    if (*n % SERVER_UNTRUSTED_LOG_EVERY == 1) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, text, sizeof text);
        log_write(LOG_WARN, "connection from %s to a proxy_protocol listener: not in "
                            "proxy_protocol_from; closed (%llu so far)",
                  text, (unsigned long long)*n);
    }
    return false;
}

static void server_on_accept(struct loop_watch *w, uint32_t events)
{
    struct server_listener *l = (struct server_listener *)w;
    struct server *srv = l->srv;
    (void)events;
    if (srv->stopping)
        return; /* an event fetched in the same batch as the stop */
    for (int i = 0; i < SERVER_ACCEPTS_PER_WAKE; i++) {
        if (srv->conn_count >= srv->cfg->connections_max && !server_shed_lingering(srv)) {
            server_pause_accepting(srv, false);
            return;
        }
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(w->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
            case EAGAIN:
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
                return;
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                stats_add(&srv->stats->accept_errors, 1);
                if (srv->stats->accept_errors == 1 || srv->stats->accept_errors % 1000 == 0)
                    log_write(LOG_WARN, "accept: %s (%llu times); shedding or pausing",
                              strerror(errno), (unsigned long long)srv->stats->accept_errors);
                if (!server_shed_lingering(srv))
                    server_pause_accepting(srv, true);
                return;
            default:
                log_write(LOG_ERROR, "accept: %s", strerror(errno));
                return;
            }
        }
        if (l->proxy_protocol && !server_proxy_trusted(srv, &peer)) {
            close(fd);
            continue;
        }
        if (!conn_open(srv, fd, (struct sockaddr *)&peer, len, l->tls, l->proxy_protocol)) {
            log_write(LOG_WARN, "cannot take a connection: %s", strerror(errno));
            close(fd);
        }
    }
}

static void server_on_io_done(struct loop_watch *w, uint32_t events)
{
    struct server *srv = (struct server *)((char *)w - offsetof(struct server, io_watch));
    (void)events;
    iopool_deliver(srv->io);
}

size_t server_io_in_flight(const struct server *srv)
{
    return srv->io ? iopool_in_flight(srv->io) : 0;
}

int server_add_listener(struct server *srv, int fd, bool shared, const struct config_listen *cl)
{
    if (srv->listener_count >= CONFIG_LISTEN_MAX)
        return -ENOSPC;
    struct server_listener *l = &srv->listeners[srv->listener_count];
    l->watch.fd = fd;
    l->watch.on_io = server_on_accept;
    l->srv = srv;
    l->paused = false;
    l->tls = cl->tls;
    l->proxy_protocol = cl->proxy_protocol;
    /* Shared by several workers: wake one of them per connection, not all
     * (EPOLLEXCLUSIVE; it cannot be modified, so pausing unwatches). */
    l->events = EPOLLIN | (shared ? EPOLLEXCLUSIVE : 0u);
    int rc = loop_watch(srv->loop, &l->watch, l->events);
    if (rc < 0)
        return rc;
    srv->listener_count++;
    return 0;
}

const char *server_date_line(struct server *srv, size_t *len)
{
    time_t now = loop_wall_s(srv->loop);
    if (now != srv->date_s) {
        char date[HTTPDATE_LEN + 1];
        httpdate_format(now, date);
        srv->date_len = (size_t)snprintf(srv->date_line, sizeof srv->date_line, "Date: %s\r\n", date);
        srv->date_s = now;
    }
    *len = srv->date_len;
    return srv->date_line;
}

void *server_buf_get(struct server *srv)
{
    if (srv->buf_free_count > 0)
        return srv->buf_free[--srv->buf_free_count];
    return calloc(1, srv->buf_size); /* zeroed: its output queue starts empty */
}

bool server_buf_put(struct server *srv, void *buf)
{
    if (srv->buf_free_count >= srv->buf_free_cap)
        return false;
    srv->buf_free[srv->buf_free_count++] = buf;
    return true;
}

/* The configuration's error and access logs. If the process opened them
 * already (a master before forking and dropping privileges), what is open is
 * kept; a level given on the command line (-e) may only be more verbose. */
static int server_open_logs(const struct config *cfg)
{
    enum log_level level = cfg->log_level;
    if (log_level_current() > level)
        level = log_level_current();
    int rc = log_open(cfg->error_log, level);
    if (rc < 0) {
        log_write(LOG_ERROR, "error_log %s: %s", cfg->error_log, strerror(-rc));
        return rc;
    }
    rc = accesslog_open(cfg);
    if (rc < 0) {
        log_write(LOG_ERROR, "access_log: %s", strerror(-rc));
        return rc;
    }
    log_reopen_also(accesslog_reopen); /* SIGUSR1 reopens both */
    return 0;
}

int server_init(struct server *srv, struct loop *loop, const struct config *cfg,
                struct stats_table *table, struct stats *stats)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->cfg = cfg;
    srv->table = table;
    srv->stats = stats;
    srv->date_s = -1;
    srv->limits = (struct http1_limits){
        .request_line_max_bytes = cfg->request_line_max_bytes,
        .field_line_max_bytes = cfg->field_line_max_bytes,
        .head_max_bytes = cfg->header_max_bytes,
        .fields_max = cfg->header_fields_max,
    };
    int logs_rc = server_open_logs(cfg);
    if (logs_rc < 0)
        return logs_rc;
    srv->buf_size = (uint32_t)conn_work_block_size(cfg);
    srv->buf_free_cap = SERVER_BUF_FREE_MAX;
    srv->buf_free = calloc(srv->buf_free_cap, sizeof *srv->buf_free);
    if (!srv->buf_free)
        return -ENOMEM;
    http2_mem_init(&srv->h2_mem, SERVER_H2_MEM_KEEP_BYTES);
    loop_timer_init(&srv->accept_retry, server_on_accept_retry);
    if (loop_reserve_timers(loop, 64) < 0)
        return -ENOMEM;

    for (size_t i = 0; i < CONFIG_SERVER_MAX; i++)
        srv->sites[i].root_fd = -1;
    for (size_t i = 0; i < cfg->site_count; i++) {
        struct server_site *site = &srv->sites[i];
        site->root_fd = open(cfg->sites[i]->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (site->root_fd < 0) {
            int rc = -errno;
            log_write(LOG_ERROR, "root %s: %s", cfg->sites[i]->root, strerror(errno));
            return rc;
        }
        errno = 0;
        site->files = filecache_new(cfg->file_cache_entries, cfg->file_cache_file_max_bytes);
        if (!site->files && errno)
            return -errno;
    }
    srv->error_page = errorpage_answer;
    srv->io = iopool_new(cfg->io_threads, cfg->io_queue_max);
    if (!srv->io)
        return -errno;
    srv->io_watch.fd = iopool_fd(srv->io);
    srv->io_watch.on_io = server_on_io_done;
    int io_rc = loop_watch(loop, &srv->io_watch, EPOLLIN);
    if (io_rc < 0)
        return io_rc;
    srv->gzips = compress_cache_new(cfg->gzip_cache_size);
    if (!srv->gzips && errno)
        return -errno;
    srv->mime = mime_table_new();
    if (!srv->mime)
        return -ENOMEM;
    if (cfg->mime_types_file && cfg->mime_types_file[0]) {
        int rc = mime_table_load_file(srv->mime, cfg->mime_types_file);
        if (rc < 0 && rc != -ENOENT)
            log_write(LOG_WARN, "mime_types_file %s: %s; using the built-in types",
                      cfg->mime_types_file, strerror(-rc));
    }
    srv->server_len = (size_t)snprintf(srv->server_line, sizeof srv->server_line,
                                       "Server: %s\r\n", cfg->server_header);
    if (cfg->hsts_ms >= 0)
        srv->hsts_len = (size_t)snprintf(srv->hsts_line, sizeof srv->hsts_line,
                                         "Strict-Transport-Security: max-age=%llu\r\n",
                                         (unsigned long long)(cfg->hsts_ms / 1000));
    for (size_t i = 0; i < cfg->listen_count && !srv->https_port; i++) {
        const struct config_listen *l = &cfg->listens[i];
        if (!l->tls)
            continue;
        if (l->addr.ss_family == AF_INET6)
            srv->https_port = ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
        else
            srv->https_port = ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
    }
    if (cfg->keepalive_header) {
        /* Advertise a second less than we wait, so a client retires the
         * connection before our close can cross its next request. */
        uint64_t s = cfg->keepalive_timeout_ms / 1000;
        s = s > 1 ? s - 1 : 1;
        srv->keep_alive_len = (size_t)snprintf(srv->keep_alive_line, sizeof srv->keep_alive_line,
                                               "Keep-Alive: timeout=%llu\r\n",
                                               (unsigned long long)s);
    }
    return proxy_init(srv);
}

void server_accept_queued(struct server *srv)
{
    if (srv->stopping)
        return;
    for (size_t i = 0; i < srv->listener_count; i++)
        if (!srv->listeners[i].paused)
            server_on_accept(&srv->listeners[i].watch, EPOLLIN);
}

void server_stop_accepting(struct server *srv)
{
    for (size_t i = 0; i < srv->listener_count; i++) {
        if (!srv->listeners[i].paused)
            loop_unwatch(srv->loop, &srv->listeners[i].watch);
        srv->listeners[i].paused = true;
    }
    loop_disarm(srv->loop, &srv->accept_retry);
    if (!srv->stopping)
        srv->drain_start_ms = loop_now_ms(srv->loop);
    srv->stopping = true;
}

void server_close_all(struct server *srv, bool graceful)
{
    /* Closing may shed other connections; a closed one still leads on to
     * the rest (conn_next), and is freed only after this iteration. */
    for (struct conn *c = srv->all_first; c; c = conn_next(c)) {
        if (conn_state_of(c) == CONN_CLOSED)
            continue;
        if (graceful)
            conn_shutdown(c, CONN_CLOSE_SHUTDOWN);
        else
            conn_abort(c);
    }
}

void server_fini(struct server *srv)
{
    conn_free_closed(srv);
    /* Every connection is closed; the jobs they left finish here, so the
     * process never exits with an upload half done. */
    iopool_free(srv->io);
    srv->io = NULL;
    proxy_fini(srv);
    accesslog_close();
    log_reopen_also(NULL);
    conn_work_pool_fini(srv);
    free(srv->buf_free);
    http2_stream_pool_fini(srv);
    http2_mem_fini(&srv->h2_mem); /* after the last session (conn_free_closed) */
    if (srv->mime)
        mime_table_free(srv->mime);
    for (size_t i = 0; i < CONFIG_SERVER_MAX; i++) {
        filecache_free(srv->sites[i].files);
        if (srv->sites[i].root_fd >= 0)
            close(srv->sites[i].root_fd);
    }
    compress_cache_free(srv->gzips);
}
