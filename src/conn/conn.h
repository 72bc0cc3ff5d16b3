/* conn — one client connection: the lifecycle state machine (the heart).
 *
 * A connection owns its socket, read buffer, output queue and deadline. Its
 * states, transitions and the close path through LINGER are documented in
 * conn.c's header comment. Request handlers (request.c, static.c, upload.c)
 * see a connection only through the functions below: they answer the
 * current request with conn_resp_*, or ask for its body with
 * conn_read_body. A handler whose answer comes later (the proxy, which
 * waits for an upstream) says so with conn_defer and finishes with
 * conn_resp_done; see "a response that comes later" below.
 */
#ifndef LINGERD_CONN_H
#define LINGERD_CONN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http1.h"

struct conn;
struct server;

enum conn_state {
    CONN_READ_HEAD, /* waiting for a whole request head; header_timeout */
    CONN_READ_BODY, /* reading a body into a sink or discarding it; body_timeout */
    CONN_WAIT_IO,   /* the handler's file operation runs on an I/O thread; nothing is
                     * read; io_wait_timeout */
    CONN_RESPOND,   /* responses queued, socket full, not reading; send_timeout */
    CONN_AWAIT,     /* a deferred response is still coming from its handler, the
                     * request body is read or given up; send_timeout while output
                     * waits, else the handler's own deadlines bound the wait */
    CONN_IDLE,      /* keep-alive, no request, buffers released; keepalive_timeout */
    CONN_LINGER,    /* closing: flush, half-close, drain; linger deadlines */
    CONN_CLOSED,    /* fd closed, freed after this loop iteration */
    CONN_PROXY_HEADER, /* a proxy_protocol listener's first bytes; proxy_protocol_timeout */
    CONN_TUNNEL,    /* after a 101: bytes both ways to an upstream socket (conn_tunnel);
                     * proxy_tunnel_timeout without a byte */
    CONN_H2,        /* carries an HTTP/2 session (src/http2/): streams, GOAWAY; its
                     * deadlines are the session's (idle, send, GOAWAY) */
    CONN_H2_STREAM, /* not a socket: an HTTP/2 stream presented to the handlers as a
                     * connection; never moves, freed with its stream */
    CONN_STATE_COUNT
};

const char *conn_state_name(enum conn_state s);

/* Why the server closes a connection (logged, and the access log's reason). */
enum conn_close_reason {
    CONN_CLOSE_NONE,
    CONN_CLOSE_REQUESTED,     /* Connection: close, or HTTP/1.0 without keep-alive */
    CONN_CLOSE_ERROR,         /* an error status that ends the connection */
    CONN_CLOSE_MAX_REQUESTS,  /* keepalive_requests reached */
    CONN_CLOSE_NOKEEPALIVE,   /* keep-alive off, globally, per location or per User-Agent */
    CONN_CLOSE_IDLE_TIMEOUT,  /* keepalive_timeout expired */
    CONN_CLOSE_HEADER_TIMEOUT,
    CONN_CLOSE_BODY_TIMEOUT,
    CONN_CLOSE_SEND_TIMEOUT,
    CONN_CLOSE_UNREAD_BODY,   /* refused before its body was read; too big to discard */
    CONN_CLOSE_SHUTDOWN,      /* the server is stopping */
    CONN_CLOSE_PEER,          /* the client closed or reset */
    CONN_CLOSE_TLS_HANDSHAKE, /* the TLS handshake failed or timed out */
    CONN_CLOSE_PROXY_HEADER,  /* the PROXY header was broken, cut or late */
    CONN_CLOSE_TUNNEL_TIMEOUT, /* a tunnel carried nothing for proxy_tunnel_timeout */
    CONN_CLOSE_REASON_COUNT
};

const char *conn_close_reason_name(enum conn_close_reason r);

/* Accept-side: a new connection on fd (non-blocking) from peer, over TLS
 * (the server's certificate store) if tls, starting with a PROXY protocol
 * header if proxy_protocol (the caller checked that peer may send one).
 * Returns the connection (owned by the server's connection set; it may
 * already be answered and closed) or NULL with errno, fd then still the
 * caller's. */
struct conn *conn_open(struct server *srv, int fd, const struct sockaddr *peer,
                       socklen_t peer_len, bool tls, bool proxy_protocol);

/* Whether the connection's client speaks TLS to us (https). */
bool conn_is_tls(const struct conn *c);

/* For the access log, after the handshake: the TLS protocol ("TLSv1.3"),
 * the cipher, and the name the client asked for (SNI). NULL when the
 * connection is not TLS or the value is unknown; valid while it is open. */
const char *conn_tls_version(const struct conn *c);
const char *conn_tls_cipher(const struct conn *c);
const char *conn_tls_sni(const struct conn *c);

/* Begin the server-initiated close path (graceful stop, shedding). */
void conn_shutdown(struct conn *c, enum conn_close_reason why);

/* Close now, without lingering (fast stop, shedding a lingering conn). */
void conn_abort(struct conn *c);

/* The next connection of the server's list (srv->all_first first); a
 * connection closed during the walk still leads on. */
struct conn *conn_next(const struct conn *c);

/* Run the connections that yielded with work left (fairness bounds). */
void conn_resume_ready(struct server *srv);

/* Free the pooled work areas (server_fini). */
void conn_work_pool_fini(struct server *srv);

/* Free connections closed during this loop iteration. */
void conn_free_closed(struct server *srv);

enum conn_state conn_state_of(const struct conn *c);

/* ---- for request handlers, while a request is being answered ---- */

/* The request being answered and the buffer its slices refer to. */
const struct http1_request *conn_request(const struct conn *c);
const char *conn_request_buf(const struct conn *c);
struct server *conn_server(const struct conn *c);

/* The lingering_close policy of the request's location. */
#include "config.h"
void conn_set_lingering(struct conn *c, enum config_linger mode);

/* The location answering the current request (NULL: none yet): its
 * add_header and expires fields go on the response (conn_resp_end). */
void conn_set_location(struct conn *c, const struct config_location *loc);

/* Ask that the connection close after this response. */
void conn_want_close(struct conn *c, enum conn_close_reason why);

/* Start a response: status line, Date, Server. Then add fields with
 * conn_resp_field/conn_resp_raw and finish with conn_resp_end. */
void conn_resp_begin(struct conn *c, int status);
/* "Name: value\r\n" */
void conn_resp_field(struct conn *c, const char *name, const char *value, size_t value_len);
/* Raw header bytes, already "Name: value\r\n". */
void conn_resp_raw(struct conn *c, const char *bytes, size_t len);
/* Whether the client's protocol frames a body of unknown length itself
 * (HTTP/2's DATA frames end with END_STREAM): then the handler neither
 * chunks it nor closes to end it. */
bool conn_frames_body(const struct conn *c);
/* Content-Length (if content_length >= 0), Connection/Keep-Alive, empty line. */
void conn_resp_end(struct conn *c, int64_t content_length);
/* Body bytes (copied into the queue). Dropped for HEAD requests. */
void conn_resp_body(struct conn *c, const void *data, size_t len);
/* Trailer fields for a body the client's protocol frames itself
 * (conn_frames_body: HTTP/2, sent after the body as a trailing HEADERS):
 * "Name: value\r\n" lines, copied; before conn_resp_done. false: not sent
 * (no memory, or a protocol where the handler frames the body: HTTP/1.1's
 * chunked trailer section is the handler's to write). */
bool conn_resp_trailers(struct conn *c, const char *lines, size_t len);
/* A file span as body; takes ownership of fd (closed even for HEAD). */
void conn_resp_file(struct conn *c, int fd, uint64_t off, uint64_t len);
/* A whole small error response with an HTML body; extra is NULL or raw header
 * lines. Statuses that lose framing (400, 408, 413, 414, 431, 501, 505) also
 * close the connection. */
void conn_resp_error(struct conn *c, int status, const char *extra);
/* The same with a plain-text body of the caller's words. */
void conn_resp_text(struct conn *c, int status, const char *extra, const char *text);

/* A sink for a request body. on_data returns 0, or an HTTP status that ends
 * the upload (413, 500, 507); on_end queues the response; on_abort undoes
 * (the connection died or the body failed). ctx is the handler's. */
struct conn_body_sink {
    int (*on_data)(struct conn *c, void *ctx, const char *data, size_t len);
    void (*on_end)(struct conn *c, void *ctx);
    void (*on_abort)(struct conn *c, void *ctx);
    /* Optional: take up to max bytes (the rest of the body) straight from the socket
     * sock (a pipe and splice(2): the bytes never pass through the
     * worker). Offered only over plain TCP, for a Content-Length body, once
     * nothing of it is buffered. Returns as a read (> 0: bytes taken; 0: the
     * peer's FIN; -EAGAIN: nothing to read now; -errno: the socket is
     * broken), or CONN_SPLICE_WAIT (nothing taken: the sink waits in
     * WAIT_IO, see conn_wait_io), CONN_SPLICE_FAILED (*status is the HTTP
     * status that ends the upload, as on_data's), or CONN_SPLICE_NEVER
     * (nothing taken: the rest of this body comes through on_data). */
    ssize_t (*on_splice)(struct conn *c, void *ctx, int sock, size_t max, int *status);
    /* Optional: the body's trailer field lines ("Name: value\r\n", checked
     * with the head's byte rules), in pieces, before on_end: HTTP/1.1's
     * chunked trailer section, an HTTP/2 stream's trailing HEADERS. Returns
     * 0, or a status as on_data's. */
    int (*on_trailer)(struct conn *c, void *ctx, const char *lines, size_t len);
};

#define CONN_SPLICE_WAIT (-EINPROGRESS)
#define CONN_SPLICE_FAILED (-ECANCELED)
#define CONN_SPLICE_NEVER (-EOPNOTSUPP)

/* The handler handed a file operation to the I/O threads (an fsync, a
 * rename, or the write the body got ahead of): stop reading and wait in
 * WAIT_IO, under io_wait_timeout. Called from a sink's on_data (the body's
 * bytes stop until conn_io_done; the sink's on_abort still covers a
 * close), from on_end or from a handler without a body to read (the
 * response comes when the operation is done; on_cancel(c, ctx), if given,
 * is called once if the connection closes first, and must make the
 * operation's completion touch nothing of c). */
void conn_wait_io(struct conn *c, void (*on_cancel)(struct conn *c, void *ctx), void *ctx);

/* The operation conn_wait_io waited for is done (and, after on_end, its
 * response queued): read the rest of the body, or go on to the next
 * request. On the loop's thread, outside the connection's own handlers. */
void conn_io_done(struct conn *c);
/* The operation a handler waited for before reading the body (an upload's
 * file being created) is done: read the body into sink now, as
 * conn_read_body would have from the handler (100 Continue included). */
void conn_io_done_read_body(struct conn *c, const struct conn_body_sink *sink, void *ctx,
                            uint64_t max_bytes);

/* Read the request's body into sink (sends 100 Continue if the client asked
 * for it). max_bytes caps a chunked body (a Content-Length above it must be
 * refused by the handler before calling this). A deferred handler may call
 * it later than dispatch (then conn_wake). */
void conn_read_body(struct conn *c, const struct conn_body_sink *sink, void *ctx,
                    uint64_t max_bytes);

/* ---- a response that comes later (conn_defer) ----
 *
 * A handler that cannot answer at once (the proxy) calls conn_defer during
 * dispatch, may read the body with conn_read_body, and later, from its own
 * events, queues the response with conn_resp_begin .. conn_resp_end and
 * conn_resp_body, then calls conn_resp_done. Those calls only queue bytes and
 * set flags: the connection acts on them when it runs next (conn_wake asks
 * for that run after this loop iteration's dispatch), so a handler never
 * finds the connection changed under it by its own call. The connection
 * calls back: on_room when the output queue, found full by
 * conn_resp_has_room, has room again; on_abort if it ends before
 * conn_resp_done (the client left, a timeout, a failed body), after which the
 * handler must not touch it. */
struct conn_deferred {
    void (*on_room)(struct conn *c, void *ctx);
    void (*on_abort)(struct conn *c, void *ctx);
};

/* The current request is answered later by d's handler (ctx is its own). */
void conn_defer(struct conn *c, const struct conn_deferred *d, void *ctx);
/* May more response body be queued now? false: wait for on_room. */
bool conn_resp_has_room(struct conn *c);
/* Run the connection after this iteration's dispatch (send what was queued,
 * act on conn_resp_done or conn_body_abandon). */
void conn_wake(struct conn *c);
/* The deferred response is wholly queued. */
void conn_resp_done(struct conn *c);
/* The handler no longer wants the request body (its answer came before the
 * body was used up): the body's sink gets neither on_end nor on_abort; the
 * rest is discarded if small and of known length (the connection stays),
 * else the connection closes after the response through the lingering
 * close. Call it before conn_resp_begin, so the head says which. */
void conn_body_abandon(struct conn *c);
/* Stop (true) or resume (false) reading the request body: back-pressure from
 * a handler whose buffer is full. While paused the handler's own deadlines
 * bound the wait; resuming wakes the connection. */
void conn_body_pause(struct conn *c, bool paused);
/* Whether the whole request body has been read and fed to the sink. */
bool conn_body_is_done(const struct conn *c);

/* Instead of conn_resp_done, for a 101: the connection becomes a byte tunnel
 * to fd (a connected, non-blocking socket, no longer watched by anyone; the
 * connection owns it now, and closes it if this fails). pending: bytes
 * already read from fd, sent to the client after the head. On true the
 * deferred handler is done with the connection (no on_room, no on_abort)
 * and queues the 101 head now (conn_resp_begin, its fields,
 * conn_resp_tunnel_head); on false (no memory) nothing changed: answer as
 * usual. See conn_tunnel.c. */
bool conn_tunnel(struct conn *c, int fd, const char *pending, size_t pending_len);
/* End a 101 head: no Content-Length, no keep-alive fields (the caller put
 * Connection: upgrade and Upgrade), the empty line. */
void conn_resp_tunnel_head(struct conn *c);

/* For the access log: the upstream that answered (addr lives as long as the
 * configuration), its status (0: none) and its time. */
void conn_note_upstream(struct conn *c, const char *addr, int status, uint64_t time_ms);

/* Monotonic and wall clock of this loop iteration. */
uint64_t conn_now_ms(const struct conn *c);

/* The client's address: 4 or 6, and its 4 or 16 bytes (network order) in
 * addr. Behind a balancer, the one its PROXY header or (for the current
 * request) real_ip_header named; else the socket's peer. */
int conn_peer_addr(const struct conn *c, uint8_t addr[16]);

/* The client's address as text, for logs (a static buffer, valid until the
 * next call). */
const char *conn_peer_text(const struct conn *c);

/* The balancer that named the client (the socket's peer, when a PROXY header
 * or real_ip_header gave another address): 4 or 6 as conn_peer_addr, or 0
 * when the client is the socket's peer. */
int conn_balancer_addr(const struct conn *c, uint8_t addr[16], uint16_t *port);

/* For the current request: the client is family/addr (real_ip_header says
 * so, and the connection's address is a trusted balancer). */
void conn_set_request_client(struct conn *c, int family, const uint8_t addr[16]);

/* Bytes of one pooled work area (request state and read buffer). */
struct config;
size_t conn_work_block_size(const struct config *cfg);

/* An error-log line prefixed "conn=<id> fd=<n> peer=<addr> state=<NAME>". */
#include "log.h"
void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
