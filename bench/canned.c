/* canned — the ceiling of the benchmark setup: the least an epoll server can do.
 *
 * One process, one thread, level-triggered epoll on 127.0.0.1:PORT. It does not
 * parse HTTP: every "\r\n\r\n" in the input is one request. A request whose
 * head mentions "/1m" gets the file given as FILE_1M by sendfile; every other
 * request gets the file FILE_1K, read once at startup and copied from memory.
 * A head containing "Connection: close" is answered and then the socket is
 * closed at once (no lingering: that is what makes it a ceiling, not a server).
 * Bodies, methods and paths are ignored; a request body would be taken for
 * garbage. Good for the benchmark's GET workloads, nothing else.
 *
 *   cc -O2 -o canned canned.c && ./canned PORT FILE_1K FILE_1M
 *
 * Bounds: CANNED_IN_BYTES of unparsed input per connection (more closes it),
 * CANNED_OUT_BYTES of queued small responses (parsing pauses past it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANNED_IN_BYTES 4096
#define CANNED_OUT_BYTES (256 * 1024)
#define CANNED_EVENTS 256

struct canned_conn {
    int fd;
    size_t in_len;
    char in[CANNED_IN_BYTES];
    char *out;          /* queued small responses: heads and 1 KiB bodies */
    size_t out_len, out_off, out_cap;
    long file_left;     /* bytes of the 1 MiB file still to sendfile, after out[] */
    off_t file_off;
    int close_after;    /* close once everything queued is written */
};

static char *canned_small;     /* head + body of the small response, keep-alive */
static size_t canned_small_len;
static char *canned_small_close;
static size_t canned_small_close_len;
static char canned_big_head[256], canned_big_head_close[256];
static int canned_big_fd;
static long canned_big_size;
static int canned_ep;

static char *canned_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        exit(1);
    }
    char *buf = malloc((size_t)st.st_size);
    if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
        perror(path);
        exit(1);
    }
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static char *canned_response(const char *body, size_t body_len, const char *conn, size_t *len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nServer: canned\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n", body_len, conn);
    char *r = malloc((size_t)n + body_len);
    if (!r)
        exit(1);
    memcpy(r, head, (size_t)n);
    memcpy(r + n, body, body_len);
    *len = (size_t)n + body_len;
    return r;
}

static int canned_queue(struct canned_conn *c, const char *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o)
            return -1;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static void canned_close(struct canned_conn *c)
{
    close(c->fd);
    free(c->out);
    free(c);
}

/* Write what is queued. 1: all written, 0: would block, -1: error. */
static int canned_flush(struct canned_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    while (c->file_left > 0) {
        ssize_t n = sendfile(c->fd, canned_big_fd, &c->file_off, (size_t)c->file_left);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (n == 0)
            return -1;
        c->file_left -= n;
    }
    return 1;
}

/* Answer every complete head in c->in; stop at a 1 MiB response (it must be
 * sent before anything queued after it) or when enough is queued. */
static int canned_parse(struct canned_conn *c)
{
    size_t start = 0;
    while (!c->close_after && c->file_left == 0 && c->out_len < CANNED_OUT_BYTES) {
        char *end = memmem(c->in + start, c->in_len - start, "\r\n\r\n", 4);
        if (!end)
            break;
        size_t head_len = (size_t)(end + 4 - (c->in + start));
        char *head = c->in + start;
        int close_it = memmem(head, head_len, "onnection: close", 16) != NULL;
        int big = memmem(head, head_len, " /1m", 4) != NULL;
        if (big) {
            const char *h = close_it ? canned_big_head_close : canned_big_head;
            if (canned_queue(c, h, strlen(h)) < 0)
                return -1;
            c->file_off = 0;
            c->file_left = canned_big_size;
        } else if (canned_queue(c, close_it ? canned_small_close : canned_small,
                                close_it ? canned_small_close_len : canned_small_len) < 0) {
            return -1;
        }
        c->close_after = close_it;
        start += head_len;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    return 0;
}

static void canned_on_event(struct canned_conn *c)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        int rc = canned_flush(c);
        if (rc < 0)
            goto out_close;
        if (rc == 0) {
            struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
            epoll_ctl(canned_ep, EPOLL_CTL_MOD, c->fd, &ev);
            return;
        }
        if (c->close_after)
            goto out_close;
        if (canned_parse(c) < 0)
            goto out_close;
        if (c->out_len > 0 || c->file_left > 0)
            continue;
        if (c->in_len == sizeof c->in)
            goto out_close;
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n == 0)
            goto out_close;
        if (n < 0) {
            if (errno != EAGAIN)
                goto out_close;
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
            epoll_ctl(canned_ep, EPOLL_CTL_MOD, c->fd, &ev);
            return;
        }
        c->in_len += (size_t)n;
    }
    return; /* level-triggered: the next epoll_wait brings us back */

out_close:
    canned_close(c);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: canned PORT FILE_1K FILE_1M\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    size_t body_len;
    char *body = canned_read_file(argv[2], &body_len);
    canned_small = canned_response(body, body_len, "keep-alive", &canned_small_len);
    canned_small_close = canned_response(body, body_len, "close", &canned_small_close_len);
    canned_big_fd = open(argv[3], O_RDONLY);
    struct stat st;
    if (canned_big_fd < 0 || fstat(canned_big_fd, &st) < 0) {
        perror(argv[3]);
        return 1;
    }
    canned_big_size = st.st_size;
    const char *fmt = "HTTP/1.1 200 OK\r\nServer: canned\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %ld\r\nConnection: %s\r\n\r\n";
    snprintf(canned_big_head, sizeof canned_big_head, fmt, canned_big_size, "keep-alive");
    snprintf(canned_big_head_close, sizeof canned_big_head_close, fmt, canned_big_size, "close");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    canned_ep = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(canned_ep, EPOLL_CTL_ADD, lfd, &lev);

    struct epoll_event evs[CANNED_EVENTS];
    for (;;) {
        int n = epoll_wait(canned_ep, evs, CANNED_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr != NULL) {
                canned_on_event(evs[i].data.ptr);
                continue;
            }
            for (int accepted = 0; accepted < 64; accepted++) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct canned_conn *c = malloc(sizeof *c);
                if (!c) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                c->in_len = 0;
                c->out = NULL;
                c->out_len = c->out_off = c->out_cap = 0;
                c->file_left = 0;
                c->file_off = 0;
                c->close_after = 0;
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                epoll_ctl(canned_ep, EPOLL_CTL_ADD, fd, &ev);
            }
        }
    }
}
