/* upload_copy — how should an upload's body go from the socket to its file?
 *
 * Measures, over loopback TCP, the receiving side of SIZE_MIB MiB sent by a
 * child process (send(2) of 1 MiB buffers, like curl -T from the page
 * cache), written into a new file in DIR, three ways, RUNS times each,
 * interleaved, and prints the median MB/s of each:
 *
 *   recv64k   recv(2) into a reused 64 KiB buffer, write(2) it (lingerd's
 *             body buffer size)
 *   recv1m    the same with a 1 MiB buffer
 *   splice    splice(2) socket -> pipe (F_SETPIPE_SZ 1 MiB) -> file: no
 *             copy through user space
 *
 * No fsync: this compares the copy paths only (the disk is the same for
 * all). Build and run (under flock on a shared machine):
 *
 *   cc -O2 -o /tmp/upload_copy bench/upload_copy.c
 *   flock /tmp/lingerd-bench.lock /tmp/upload_copy [DIR] [SIZE_MIB] [RUNS]
 *
 * Over TLS only the first two exist: the bytes must be decrypted in user
 * space.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define METHODS 3
#define RUNS_MAX 21

static const char *const names[METHODS] = { "recv64k", "recv1m", "splice" };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* The sender: connect and send size bytes, then close. */
static void send_all(unsigned short port, size_t size)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    char *buf = malloc(MIB);
    if (!buf)
        die("malloc");
    for (size_t i = 0; i < MIB; i++)
        buf[i] = (char)(i * 2654435761u >> 13);
    size_t left = size;
    while (left > 0) {
        size_t n = left < MIB ? left : MIB;
        ssize_t w = send(s, buf, n, 0);
        if (w <= 0)
            die("send");
        left -= (size_t)w;
    }
    close(s);
    free(buf);
}

/* One run of method m: returns MB/s (10^6 bytes) of the receiving side. */
static double run_once(int m, const char *dir, size_t size)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
        die("listen");
    pid_t child = fork();
    if (child == 0) {
        close(ls);
        send_all(ntohs(a.sin_port), size);
        _exit(0);
    }
    int s = accept(ls, NULL, NULL);
    if (s < 0)
        die("accept");
    close(ls);
    char path[4096];
    snprintf(path, sizeof path, "%s/upload_copy.%d", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open");

    double t0 = now_s();
    size_t got = 0;
    if (m < 2) {
        size_t cap = m == 0 ? 64 * 1024 : MIB;
        char *buf = malloc(cap);
        if (!buf)
            die("malloc");
        for (;;) {
            ssize_t n = recv(s, buf, cap, 0);
            if (n < 0)
                die("recv");
            if (n == 0)
                break;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(fd, buf + off, (size_t)(n - off));
                if (w <= 0)
                    die("write");
                off += w;
            }
            got += (size_t)n;
        }
        free(buf);
    } else {
        int p[2];
        if (pipe(p) < 0)
            die("pipe");
        (void)fcntl(p[1], F_SETPIPE_SZ, MIB);
        for (;;) {
            ssize_t n = splice(s, NULL, p[1], NULL, MIB, SPLICE_F_MOVE);
            if (n < 0)
                die("splice in");
            if (n == 0)
                break;
            for (ssize_t left = n; left > 0;) {
                ssize_t w = splice(p[0], NULL, fd, NULL, (size_t)left, SPLICE_F_MOVE);
                if (w <= 0)
                    die("splice out");
                left -= w;
            }
            got += (size_t)n;
        }
        close(p[0]);
        close(p[1]);
    }
    double t = now_s() - t0;
    close(s);
    close(fd);
    unlink(path);
    waitpid(child, NULL, 0);
    if (got != size) {
        fprintf(stderr, "%s: got %zu of %zu bytes\n", names[m], got, size);
        exit(1);
    }
    return (double)size / t / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 100) * MIB;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > RUNS_MAX)
        runs = 5;
    double mbs[METHODS][RUNS_MAX];
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < METHODS; i++) {
            int m = (i + r) % METHODS; /* rotate who goes first */
            sync();
            mbs[m][r] = run_once(m, dir, size);
            printf("run %d %-8s %8.1f MB/s\n", r + 1, names[m], mbs[m][r]);
        }
    for (int m = 0; m < METHODS; m++) {
        qsort(mbs[m], (size_t)runs, sizeof mbs[m][0], cmp_double);
        printf("median %-8s %8.1f MB/s (%d runs, %zu MiB)\n", names[m], mbs[m][runs / 2], runs,
               size / MIB);
    }
    return 0;
}
