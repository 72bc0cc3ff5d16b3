/* realip — see realip.h. */
#include "realip.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

/* An address as text, exactly: IPv4 dotted quad or IPv6 (inet_pton's
 * syntax, which refuses leading zeros in IPv4 octets). */
static bool realip_parse_addr(const char *s, size_t n, int *family, uint8_t addr[16])
{
    char text[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, addr) == 1) {
        *family = 6;
        return true;
    }
    return false;
}

static bool realip_is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

enum realip_rc realip_real_ip(const char *text, size_t len, int *family, uint8_t addr[16])
{
    if (len == 0)
        return REALIP_NONE;
    return realip_parse_addr(text, len, family, addr) ? REALIP_FOUND : REALIP_INVALID;
}

enum realip_rc realip_forwarded_for(const struct realip_value *values, size_t n,
                                    const struct config_cidr *trusted, size_t trusted_count,
                                    int *family, uint8_t addr[16])
{
    bool any = false;
    for (size_t v = n; v-- > 0;) {
        const char *s = values[v].text;
        size_t end = values[v].len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && s[start - 1] != ',')
                start--;
            size_t a = start, b = end;
            while (a < b && realip_is_ows(s[a]))
                a++;
            while (b > a && realip_is_ows(s[b - 1]))
                b--;
            end = start > 0 ? start - 1 : 0;
            if (a == b)
                continue; /* an empty list element (RFC 9110 §5.6.1) */
            if (!realip_parse_addr(s + a, b - a, family, addr))
                return REALIP_INVALID;
            any = true;
            if (!config_cidr_match(trusted, trusted_count, *family, addr))
                return REALIP_FOUND;
        }
    }
    /* Every hop trusted: *family and addr hold the left-most. */
    return any ? REALIP_FOUND : REALIP_NONE;
}
