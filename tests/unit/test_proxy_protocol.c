/* test_proxy_protocol — the PROXY protocol header parser, field by field.
 *
 * Every case runs three ways: whole, fed one byte more at a time, and cut at
 * every offset (each prefix must ask for more or give the same verdict), in
 * an allocation of exactly the input's length so an over-read trips ASan.
 */
#include "proxy_protocol.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES 512

struct pp_case {
    const char *name;
    const uint8_t *raw;
    size_t len;
    enum proxy_rc rc;
    uint32_t length;      /* header bytes, when PROXY_DONE */
    uint8_t command;
    uint8_t family;
    const char *src;      /* "a.b.c.d" or IPv6 text, when PROXY */
    uint16_t src_port;
    uint8_t fault;        /* when PROXY_INVALID */
};

static enum proxy_rc parse_exact(const uint8_t *raw, size_t len, struct proxy_header *h)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, raw, len);
    enum proxy_rc rc = proxy_protocol_parse(copy, len, MAX_BYTES, h);
    free(copy);
    return rc;
}

static void check_case(const struct pp_case *tc)
{
    struct proxy_header h;
    enum proxy_rc rc = parse_exact(tc->raw, tc->len, &h);
    if (rc != tc->rc)
        fail_msg("%s: rc %d, want %d (%s)", tc->name, rc, tc->rc, h.reason ? h.reason : "-");
    if (rc == PROXY_INVALID) {
        if (h.fault != tc->fault)
            fail_msg("%s: fault %u, want %u", tc->name, h.fault, tc->fault);
        assert_non_null(h.reason);
    }
    if (rc == PROXY_DONE) {
        if (h.length != tc->length)
            fail_msg("%s: length %u, want %u", tc->name, h.length, tc->length);
        if (h.command != tc->command || h.family != tc->family)
            fail_msg("%s: command %u family %u", tc->name, h.command, h.family);
        if (tc->src) {
            uint8_t want[16] = { 0 };
            int af = tc->family == 4 ? AF_INET : AF_INET6;
            assert_int_equal(inet_pton(af, tc->src, want), 1);
            if (memcmp(want, h.src_addr, tc->family == 4 ? 4 : 16) != 0)
                fail_msg("%s: wrong source address", tc->name);
            if (h.src_port != tc->src_port)
                fail_msg("%s: source port %u, want %u", tc->name, h.src_port, tc->src_port);
        }
    }
    /* Every shorter prefix asks for more, or (a broken header) is refused
     * already with the same fault; never DONE. */
    for (size_t cut = 0; cut < tc->len; cut++) {
        struct proxy_header p;
        enum proxy_rc prc = parse_exact(tc->raw, cut, &p);
        if (prc == PROXY_DONE && !(rc == PROXY_DONE && cut >= h.length))
            fail_msg("%s: DONE at %zu of %zu bytes", tc->name, cut, tc->len);
        if (prc == PROXY_INVALID && rc != PROXY_INVALID)
            fail_msg("%s: refused at %zu bytes (%s)", tc->name, cut, p.reason);
    }
}

#define S(s) (const uint8_t *)(s), sizeof(s) - 1
#define SIG "\r\n\r\n\0\r\nQUIT\n"

static const struct pp_case v1_cases[] = {
    { "TCP4", S("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET /"), PROXY_DONE, 45,
      PROXY_CMD_PROXY, 4, "192.0.2.7", 56324, 0 },
    { "TCP6", S("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"), PROXY_DONE, 36, PROXY_CMD_PROXY, 6,
      "2001:db8::1", 1, 0 },
    { "TCP6 v4-mapped", S("PROXY TCP6 ::ffff:10.0.0.1 ::1 0 80\r\n"), PROXY_DONE, 37,
      PROXY_CMD_PROXY, 6, "::ffff:10.0.0.1", 0, 0 },
    { "UNKNOWN short", S("PROXY UNKNOWN\r\n"), PROXY_DONE, 15, PROXY_CMD_LOCAL, 0, NULL, 0, 0 },
    { "UNKNOWN with fields", S("PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"), PROXY_DONE, 33,
      PROXY_CMD_LOCAL, 0, NULL, 0, 0 },
    { "longest TCP6 line (104)",
      S("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
      PROXY_DONE, 104, PROXY_CMD_PROXY, 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 0 },
    /* each field broken */
    { "lower-case proxy", S("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL,
      0, PROXY_FAULT_MALFORMED },
    { "no space after PROXY", S("PROXYTCP4 1.2.3.4 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0,
      NULL, 0, PROXY_FAULT_MALFORMED },
    { "TCP5", S("PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "UDP4", S("PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "UNKNOWNX", S("PROXY UNKNOWNX\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "TCP4 with IPv6 address (wrong family)", S("PROXY TCP4 ::1 ::1 1 2\r\n"), PROXY_INVALID,
      0, 0, 0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "TCP6 with IPv4 address (wrong family)", S("PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n"),
      PROXY_INVALID, 0, 0, 0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "octet 256", S("PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "octet with leading zero", S("PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0,
      0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "three octets", S("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "bad destination", S("PROXY TCP4 1.2.3.4 1.2.3.x 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL,
      0, PROXY_FAULT_MALFORMED },
    { "port 65536", S("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL,
      0, PROXY_FAULT_MALFORMED },
    { "port with leading zero", S("PROXY TCP4 1.2.3.4 1.2.3.4 080 2\r\n"), PROXY_INVALID, 0, 0,
      0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "port with sign", S("PROXY TCP4 1.2.3.4 1.2.3.4 +80 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL,
      0, PROXY_FAULT_MALFORMED },
    { "destination port empty", S("PROXY TCP4 1.2.3.4 1.2.3.4 80 \r\n"), PROXY_INVALID, 0, 0,
      0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "two spaces", S("PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "five fields", S("PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "three fields", S("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "LF alone", S("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "CR alone", S("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "an HTTP request", S("GET / HTTP/1.1\r\n\r\n"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "a TLS ClientHello", S("\x16\x03\x01\x02\x00"), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "no CRLF within 107 bytes",
      S("PROXY UNKNOWN 0123456789012345678901234567890123456789012345678901234567890123456789"
        "01234567890123456789012345\r\n"),
      PROXY_INVALID, 0, 0, 0, NULL, 0, PROXY_FAULT_OVERSIZED },
};

/* Version 2 headers, written out byte by byte. */
static const uint8_t v2_inet[] = SIG "\x21\x11\x00\x0c"
                                     "\xc0\x00\x02\x07" "\x7f\x00\x00\x01" "\xdc\x04" "\x01\xbb"
                                     "GET /";
static const uint8_t v2_inet6[] = SIG "\x21\x21\x00\x24"
                                      "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
                                      "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x50" "\x00\x51";
static const uint8_t v2_tlvs[] = SIG "\x21\x11\x00\x1a"
                                     "\x0a\x00\x00\x09" "\x0a\x00\x00\x01" "\x30\x39" "\x00\x50"
                                     "\x01\x00\x02h2" "\x04\x00\x00" "\x20\x00\x03\x01\x02\x03";
static const uint8_t v2_local[] = SIG "\x20\x00\x00\x00";
static const uint8_t v2_local_with_block[] = SIG "\x20\x11\x00\x03" "abc";
static const uint8_t v2_unspec[] = SIG "\x21\x00\x00\x00";
static const uint8_t v2_unix[PROXY_V2_FIXED_BYTES + PROXY_V2_UNIX_BYTES] = SIG "\x21\x31\x00\xd8";
static const uint8_t v2_version_1[] = SIG "\x11\x11\x00\x0c" "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_command_2[] = SIG "\x22\x11\x00\x0c" "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_family_4[] = SIG "\x21\x41\x00\x0c" "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_transport_3[] = SIG "\x21\x13\x00\x0c" "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_dgram[] = SIG "\x21\x12\x00\x0c" "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_short_inet[] = SIG "\x21\x11\x00\x0b" "\1\2\3\4\1\2\3\4\0\1\0";
static const uint8_t v2_inet6_in_inet_length[] = SIG "\x21\x21\x00\x0c"
                                                     "\1\2\3\4\1\2\3\4\0\1\0\2";
static const uint8_t v2_tlv_overrun[] = SIG "\x21\x11\x00\x11"
                                            "\1\2\3\4\1\2\3\4\0\1\0\2" "\x01\x00\x05" "ab";
static const uint8_t v2_tlv_cut[] = SIG "\x21\x11\x00\x0e" "\1\2\3\4\1\2\3\4\0\1\0\2" "\x01\x00";
static const uint8_t v2_too_long[] = SIG "\x21\x11\x01\xf1";
static const uint8_t v2_bad_signature[] = "\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x0c";

#define B(a) a, sizeof(a) - 1
#define BFULL(a) a, sizeof(a)

static const struct pp_case v2_cases[] = {
    { "INET", B(v2_inet), PROXY_DONE, 28, PROXY_CMD_PROXY, 4, "192.0.2.7", 56324, 0 },
    { "INET6", B(v2_inet6), PROXY_DONE, 52, PROXY_CMD_PROXY, 6, "2001:db8::1", 80, 0 },
    { "INET with TLVs", B(v2_tlvs), PROXY_DONE, 42, PROXY_CMD_PROXY, 4, "10.0.0.9", 12345, 0 },
    { "LOCAL", B(v2_local), PROXY_DONE, 16, PROXY_CMD_LOCAL, 0, NULL, 0, 0 },
    { "LOCAL skips its block", B(v2_local_with_block), PROXY_DONE, 19, PROXY_CMD_LOCAL, 0, NULL,
      0, 0 },
    { "PROXY UNSPEC", B(v2_unspec), PROXY_DONE, 16, PROXY_CMD_LOCAL, 0, NULL, 0, 0 },
    { "AF_UNIX", BFULL(v2_unix), PROXY_DONE, 232, PROXY_CMD_LOCAL, 1, NULL, 0, 0 },
    { "version 1 in a v2 header", B(v2_version_1), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "command 2", B(v2_command_2), PROXY_INVALID, 0, 0, 0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "family 4 (wrong family)", B(v2_family_4), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "transport 3", B(v2_transport_3), PROXY_INVALID, 0, 0, 0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "DGRAM", B(v2_dgram), PROXY_INVALID, 0, 0, 0, NULL, 0, PROXY_FAULT_MALFORMED },
    { "length below INET's 12", B(v2_short_inet), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "INET6 in INET's length", B(v2_inet6_in_inet_length), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "TLV past the header", B(v2_tlv_overrun), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "TLV cut in its length", B(v2_tlv_cut), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
    { "length past max_bytes", B(v2_too_long), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_OVERSIZED },
    { "signature's last byte wrong", B(v2_bad_signature), PROXY_INVALID, 0, 0, 0, NULL, 0,
      PROXY_FAULT_MALFORMED },
};

static void test_proxy_protocol_parse_v1_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof v1_cases / sizeof v1_cases[0]; i++)
        check_case(&v1_cases[i]);
}

static void test_proxy_protocol_parse_v2_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof v2_cases / sizeof v2_cases[0]; i++)
        check_case(&v2_cases[i]);
}

/* A v2 length past what the buffer holds asks for more, never reads on. */
static void test_proxy_protocol_parse_v2_length_past_the_buffer(void **state)
{
    (void)state;
    struct proxy_header h;
    /* declares 12 bytes of addresses, carries 4 */
    static const uint8_t cut[] = SIG "\x21\x11\x00\x0c" "\1\2\3\4";
    assert_int_equal(parse_exact(cut, sizeof cut - 1, &h), PROXY_NEED_MORE);
    /* the bound is max_bytes, not 64 KiB: a 16 + 65535 claim is refused at 16 bytes */
    static const uint8_t huge[] = SIG "\x21\x11\xff\xff";
    assert_int_equal(parse_exact(huge, sizeof huge - 1, &h), PROXY_INVALID);
    assert_int_equal(h.fault, PROXY_FAULT_OVERSIZED);
    /* exactly at the bound is accepted */
    uint8_t at[MAX_BYTES] = SIG "\x21\x11";
    at[14] = (MAX_BYTES - 16) >> 8;
    at[15] = (MAX_BYTES - 16) & 0xff;
    /* addresses, then one TLV filling the rest */
    size_t tlv = MAX_BYTES - 16 - 12 - 3;
    at[28] = 0x04;
    at[29] = (uint8_t)(tlv >> 8);
    at[30] = (uint8_t)(tlv & 0xff);
    assert_int_equal(parse_exact(at, sizeof at, &h), PROXY_DONE);
    assert_int_equal(h.length, MAX_BYTES);
}

/* Fed a byte at a time, each header is found at its own length and the
 * bytes after it are not counted. */
static void test_proxy_protocol_parse_byte_by_byte(void **state)
{
    (void)state;
    const struct pp_case *all[] = { &v1_cases[0], &v1_cases[1], &v2_cases[0], &v2_cases[2] };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        size_t n;
        struct proxy_header h;
        for (n = 0; n <= all[i]->len; n++)
            if (parse_exact(all[i]->raw, n, &h) != PROXY_NEED_MORE)
                break;
        assert_int_equal(n, all[i]->length);
        assert_int_equal(h.length, all[i]->length);
    }
}

static void test_proxy_command_name_names_both(void **state)
{
    (void)state;
    assert_string_equal(proxy_command_name(PROXY_CMD_LOCAL), "LOCAL");
    assert_string_equal(proxy_command_name(PROXY_CMD_PROXY), "PROXY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_protocol_parse_v1_fields),
        cmocka_unit_test(test_proxy_protocol_parse_v2_fields),
        cmocka_unit_test(test_proxy_protocol_parse_v2_length_past_the_buffer),
        cmocka_unit_test(test_proxy_protocol_parse_byte_by_byte),
        cmocka_unit_test(test_proxy_command_name_names_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
