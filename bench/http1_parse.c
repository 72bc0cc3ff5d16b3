/* http1_parse — instructions per request of the head parser, for callgrind.
 *
 * Parses one request head N times, each as the server does (http1_parser_init,
 * then http1_parse_head on the whole head), and checks every result so the
 * compiler cannot drop the work. Only bench_http1_run is meant to be counted:
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc/http1 -Isrc/core bench/http1_parse.c src/http1/http1.c src/http1/http1_fields.c -o /tmp/hp
 *   valgrind --tool=callgrind --toggle-collect=bench_http1_run /tmp/hp small 20000
 *
 * and divide the Ir total by N. "small" is the keep-alive GET of the server
 * benchmark (wrk.lua); "browser" is what a desktop browser sends for a page
 * (~500 bytes, 11 fields). With no arguments it prints Ir-free timings instead
 * (ns per request), which are noisier but need no valgrind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http1.h"

#define BENCH_FIELDS_CAP 100

static const char bench_small[] = "GET /1k.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\n"
                                  "Accept: */*\r\n\r\n";

static const char bench_browser[] =
    "GET /docs/guide/index.html?lang=en&v=2 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/docs/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=4f2a9c1e7b; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "If-Modified-Since: Tue, 02 Apr 2024 10:00:00 GMT\r\n"
    "If-None-Match: \"5f1c-61512cbd\"\r\n"
    "\r\n";

/* The server's defaults (config.c). */
static const struct http1_limits bench_limits = {
    .request_line_max_bytes = 8192,
    .field_line_max_bytes = 8192,
    .head_max_bytes = 32768,
    .fields_max = BENCH_FIELDS_CAP,
};

/* noinline: callgrind's --toggle-collect names this function. */
__attribute__((noinline)) static size_t bench_http1_run(const char *raw, size_t len, long n)
{
    static struct http1_header fields[BENCH_FIELDS_CAP];
    struct http1_parser p;
    struct http1_request req;
    size_t used, sum = 0;

    for (long i = 0; i < n; i++) {
        http1_parser_init(&p, &bench_limits, fields, BENCH_FIELDS_CAP);
        if (http1_parse_head(&p, raw, len, &req, &used) != HTTP1_DONE || used != len) {
            fprintf(stderr, "http1_parse: not parsed: %d %s\n", p.status,
                    p.reason ? p.reason : "-");
            exit(1);
        }
        sum += used + req.field_count + req.user_agent.len;
        __asm__ volatile("" : : "r"(&req) : "memory"); /* keep every iteration */
    }
    return sum;
}

static double bench_ns(const char *raw, size_t len, long n)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    size_t sum = bench_http1_run(raw, len, n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (sum == 0)
        return 0;
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        const char *raw = strcmp(argv[1], "browser") == 0 ? bench_browser : bench_small;
        long n = strtol(argv[2], NULL, 10);
        size_t sum = bench_http1_run(raw, strlen(raw), n);
        printf("%s: %zu bytes, %ld runs (%zu)\n", argv[1], strlen(raw), n, sum);
        return 0;
    }
    long n = 2000000;
    printf("small   %3zu bytes: %6.1f ns/req\n", sizeof bench_small - 1,
           bench_ns(bench_small, sizeof bench_small - 1, n));
    printf("browser %3zu bytes: %6.1f ns/req\n", sizeof bench_browser - 1,
           bench_ns(bench_browser, sizeof bench_browser - 1, n));
    return 0;
}
