/* http2_mem — a worker's memory for its nghttp2 sessions: small blocks kept
 * on free lists by size class, bounded, handed to nghttp2 as its
 * nghttp2_mem (the what and why are in http2_mem.c). */
#ifndef LINGERD_HTTP2_MEM_H
#define LINGERD_HTTP2_MEM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>

/* Built with AddressSanitizer: what the HTTP/2 layer keeps for reuse (these
 * blocks, the stream pool of http2_request.c) goes back to libc or is
 * poisoned, so a use after free is still reported. */
#if defined(__SANITIZE_ADDRESS__)
#define HTTP2_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HTTP2_ASAN 1
#endif
#endif

/* Blocks are a header and the caller's bytes, in steps of this many bytes;
 * the classes cover blocks up to HTTP2_MEM_CLASSES steps (1 KiB). Larger
 * requests go to libc. */
#define HTTP2_MEM_STEP_BYTES 64
#define HTTP2_MEM_CLASSES 16

/* One worker's lists. Zeroed memory is a valid http2_mem that keeps
 * nothing (every block goes back to libc). Used by one thread only: the
 * worker's loop, the only caller of nghttp2. */
struct http2_mem {
    void *free_first[HTTP2_MEM_CLASSES]; /* a list of blocks per class */
    size_t kept_bytes;                   /* bytes of blocks on the lists */
    size_t keep_max_bytes;               /* kept_bytes never exceeds this */
};

/* Empty lists that keep at most keep_max_bytes of freed blocks. */
void http2_mem_init(struct http2_mem *m, size_t keep_max_bytes);

/* Give the kept blocks back to libc. Every session using m must be
 * deleted first (their blocks are not tracked). */
void http2_mem_fini(struct http2_mem *m);

/* The allocator to pass to nghttp2_session_server_new3: its four
 * functions work on m, which must outlive every session given it. */
nghttp2_mem http2_mem_nghttp2(struct http2_mem *m);

/* Whether freed blocks are kept at all: false in AddressSanitizer builds,
 * where every call goes straight to libc so a use after free is seen. */
bool http2_mem_keeps_blocks(void);

#endif
