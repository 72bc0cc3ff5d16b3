/* test_realip — the client address in X-Forwarded-For and X-Real-IP. */
#include "realip.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trusted: 10.0.0.0/8 and ::1. */
static struct config_cidr trusted[2];

static int setup(void **state)
{
    (void)state;
    memset(trusted, 0, sizeof trusted);
    trusted[0].family = 4;
    trusted[0].prefix_bits = 8;
    trusted[0].addr[0] = 10;
    trusted[1].family = 6;
    trusted[1].prefix_bits = 128;
    trusted[1].addr[15] = 1;
    return 0;
}

static const struct xff_case {
    const char *name;
    const char *lines[3]; /* field lines in order; NULL ends */
    enum realip_rc rc;
    const char *want;     /* when FOUND */
} xff_cases[] = {
    { "one client", { "203.0.113.5", NULL }, REALIP_FOUND, "203.0.113.5" },
    { "right-most untrusted", { "203.0.113.5, 198.51.100.7", NULL }, REALIP_FOUND,
      "198.51.100.7" },
    { "trusted hops skipped", { "203.0.113.5, 198.51.100.7, 10.1.1.1, 10.2.2.2", NULL },
      REALIP_FOUND, "198.51.100.7" },
    { "a forged left part is not believed", { "1.1.1.1, 203.0.113.5, 10.0.0.1", NULL },
      REALIP_FOUND, "203.0.113.5" },
    { "all trusted: the left-most", { "10.9.9.9,10.0.0.1", NULL }, REALIP_FOUND, "10.9.9.9" },
    { "two lines are one list", { "203.0.113.5, 10.0.0.1", "10.0.0.2", NULL }, REALIP_FOUND,
      "203.0.113.5" },
    { "the later line is nearer", { "203.0.113.5", "198.51.100.7, 10.0.0.2", NULL },
      REALIP_FOUND, "198.51.100.7" },
    { "IPv6", { "2001:db8::7, ::1", NULL }, REALIP_FOUND, "2001:db8::7" },
    { "tabs and empty elements", { ",\t203.0.113.5 ,, 10.0.0.1,", NULL }, REALIP_FOUND,
      "203.0.113.5" },
    { "empty", { "", NULL }, REALIP_NONE, NULL },
    { "only commas", { " , ,", NULL }, REALIP_NONE, NULL },
    { "a port is not an address", { "203.0.113.5:4711", NULL }, REALIP_INVALID, NULL },
    { "unknown", { "unknown, 10.0.0.1", NULL }, REALIP_INVALID, NULL },
    { "bracketed IPv6", { "[2001:db8::7]", NULL }, REALIP_INVALID, NULL },
    { "leading zero octet", { "203.0.113.05", NULL }, REALIP_INVALID, NULL },
    /* what lies left of the client is never looked at */
    { "garbage left of the client", { "junk, 203.0.113.5", NULL }, REALIP_FOUND,
      "203.0.113.5" },
};

static void test_realip_forwarded_for_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof xff_cases / sizeof xff_cases[0]; i++) {
        const struct xff_case *tc = &xff_cases[i];
        struct realip_value v[3];
        char *copies[3] = { NULL, NULL, NULL };
        size_t n = 0;
        for (; n < 3 && tc->lines[n]; n++) {
            size_t len = strlen(tc->lines[n]);
            copies[n] = malloc(len ? len : 1); /* exact size: ASan sees an over-read */
            memcpy(copies[n], tc->lines[n], len);
            v[n].text = copies[n];
            v[n].len = len;
        }
        int family = 0;
        uint8_t addr[16];
        enum realip_rc rc = realip_forwarded_for(v, n, trusted, 2, &family, addr);
        if (rc != tc->rc)
            fail_msg("%s: rc %d, want %d", tc->name, rc, tc->rc);
        if (rc == REALIP_FOUND) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, text, sizeof text);
            if (strcmp(text, tc->want) != 0)
                fail_msg("%s: got %s, want %s", tc->name, text, tc->want);
        }
        for (size_t k = 0; k < n; k++)
            free(copies[k]);
    }
}

static void test_realip_real_ip_one_address(void **state)
{
    (void)state;
    int family = 0;
    uint8_t addr[16];
    assert_int_equal(realip_real_ip("203.0.113.5", 11, &family, addr), REALIP_FOUND);
    assert_int_equal(family, 4);
    assert_int_equal(addr[3], 5);
    assert_int_equal(realip_real_ip("", 0, &family, addr), REALIP_NONE);
    assert_int_equal(realip_real_ip("1.2.3.4, 5.6.7.8", 16, &family, addr), REALIP_INVALID);
    assert_int_equal(realip_real_ip("::1", 3, &family, addr), REALIP_FOUND);
    assert_int_equal(family, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_realip_forwarded_for_table, setup),
        cmocka_unit_test(test_realip_real_ip_one_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
