/* httpdate — HTTP-date formatting and parsing (RFC 9110 §5.6.7).
 *
 * We send only IMF-fixdate; we accept IMF-fixdate, RFC 850 and asctime, as a
 * recipient must. Names come from our own tables, not strftime, so the
 * output never depends on the locale. HTTP-date is case-sensitive and has
 * a fixed shape, so parsing is byte-for-byte: no optional spaces, no
 * trailing bytes, every field range-checked (a day that does not exist in
 * its month, such as 31 Nov or 29 Feb 2023, is rejected rather than
 * normalised by timegm into another date).
 *
 * Left out: the day name is checked against the list but not against the
 * date. §5.6.7 does not make a mismatch invalid, and a wrong validator only
 * costs a full 200 response.
 */
#include "httpdate.h"

#include <stdint.h>
#include <string.h>

static const char httpdate_days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const httpdate_days_long[7] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};
static const char httpdate_months[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* The four-digit year field bounds what we can write: 0001-01-01T00:00:00Z
 * and 9999-12-31T23:59:59Z. Times outside are clamped, not wrapped. */
#define HTTPDATE_MIN_T INT64_C(-62135596800)
#define HTTPDATE_MAX_T INT64_C(253402300799)

static void httpdate_put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1])
{
    struct tm tm;

    if ((int64_t)t < HTTPDATE_MIN_T)
        t = (time_t)HTTPDATE_MIN_T;
    if ((int64_t)t > HTTPDATE_MAX_T)
        t = (time_t)HTTPDATE_MAX_T;
    if (!gmtime_r(&t, &tm)) {
        /* Only possible with a time_t that cannot hold the clamped range;
         * the epoch is a harmless answer for a Date or Last-Modified. */
        memset(&tm, 0, sizeof tm);
        tm.tm_year = 70;
        tm.tm_mday = 1;
        tm.tm_wday = 4;
    }

    int year = tm.tm_year + 1900;
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(out, httpdate_days[tm.tm_wday], 3);
    out[3] = ',';
    out[4] = ' ';
    httpdate_put2(out + 5, tm.tm_mday);
    out[7] = ' ';
    memcpy(out + 8, httpdate_months[tm.tm_mon], 3);
    out[11] = ' ';
    httpdate_put2(out + 12, year / 100);
    httpdate_put2(out + 14, year % 100);
    out[16] = ' ';
    httpdate_put2(out + 17, tm.tm_hour);
    out[19] = ':';
    httpdate_put2(out + 20, tm.tm_min);
    out[22] = ':';
    httpdate_put2(out + 23, tm.tm_sec);
    memcpy(out + 25, " GMT", 4);
    out[HTTPDATE_LEN] = '\0';
}

/* Read exactly n digits at s. */
static bool httpdate_digits(const char *s, size_t n, int *v)
{
    int x = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

static bool httpdate_month(const char *s, int *mon)
{
    for (int i = 0; i < 12; i++) {
        if (memcmp(s, httpdate_months[i], 3) == 0) {
            *mon = i;
            return true;
        }
    }
    return false;
}

static bool httpdate_is_day(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (memcmp(s, httpdate_days[i], 3) == 0)
            return true;
    return false;
}

/* "08:49:37" at s; second 60 is allowed for a leap second (§5.6.7). */
static bool httpdate_time(const char *s, struct tm *tm)
{
    return httpdate_digits(s, 2, &tm->tm_hour) && s[2] == ':' &&
           httpdate_digits(s + 3, 2, &tm->tm_min) && s[5] == ':' &&
           httpdate_digits(s + 6, 2, &tm->tm_sec) && tm->tm_hour <= 23 && tm->tm_min <= 59 &&
           tm->tm_sec <= 60;
}

static bool httpdate_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool httpdate_valid_day(int year, int mon, int mday)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int max = days[mon] + (mon == 1 && httpdate_is_leap(year));

    return mday >= 1 && mday <= max;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes). */
static bool httpdate_parse_imf(const char *s, size_t len, struct tm *tm, int *year)
{
    return len == 29 && httpdate_is_day(s) && memcmp(s + 3, ", ", 2) == 0 &&
           httpdate_digits(s + 5, 2, &tm->tm_mday) && s[7] == ' ' &&
           httpdate_month(s + 8, &tm->tm_mon) && s[11] == ' ' &&
           httpdate_digits(s + 12, 4, year) && s[16] == ' ' && httpdate_time(s + 17, tm) &&
           memcmp(s + 25, " GMT", 4) == 0;
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". */
static bool httpdate_parse_rfc850(const char *s, size_t len, struct tm *tm, int *year)
{
    size_t d;

    for (d = 0; d < 7; d++) {
        size_t n = strlen(httpdate_days_long[d]);
        if (len > n && memcmp(s, httpdate_days_long[d], n) == 0 && s[n] == ',')
            break;
    }
    if (d == 7)
        return false;
    s += strlen(httpdate_days_long[d]);
    len -= strlen(httpdate_days_long[d]);

    /* ", 06-Nov-94 08:49:37 GMT" */
    if (!(len == 24 && memcmp(s, ", ", 2) == 0 && httpdate_digits(s + 2, 2, &tm->tm_mday) &&
          s[4] == '-' && httpdate_month(s + 5, &tm->tm_mon) && s[8] == '-' &&
          httpdate_digits(s + 9, 2, year) && s[11] == ' ' && httpdate_time(s + 12, tm) &&
          memcmp(s + 20, " GMT", 4) == 0))
        return false;

    /* §5.6.7: a two-digit year that looks more than 50 years in the future
     * is in the past century. This module has no clock, so the pivot is
     * fixed: 00-69 is 2000-2069, 70-99 is 1970-1999. That is the RFC's rule
     * as of 2019; later it files 70..(now-1950) under the 1970s rather than
     * the 2070s, which for a validator only turns a 304 into a 200. */
    *year += *year < 70 ? 2000 : 1900;
    return true;
}

/* asctime: "Sun Nov  6 08:49:37 1994" (24 bytes); the day is "06" or " 6". */
static bool httpdate_parse_asctime(const char *s, size_t len, struct tm *tm, int *year)
{
    if (!(len == 24 && httpdate_is_day(s) && s[3] == ' ' && httpdate_month(s + 4, &tm->tm_mon) &&
          s[7] == ' '))
        return false;
    if (s[8] == ' ') {
        if (!httpdate_digits(s + 9, 1, &tm->tm_mday))
            return false;
    } else if (!httpdate_digits(s + 8, 2, &tm->tm_mday)) {
        return false;
    }
    return s[10] == ' ' && httpdate_time(s + 11, tm) && s[19] == ' ' &&
           httpdate_digits(s + 20, 4, year);
}

bool httpdate_parse(const char *s, size_t len, time_t *t)
{
    struct tm tm;
    int year;
    bool ok;

    memset(&tm, 0, sizeof tm);
    if (len < 4)
        return false;
    /* The fourth byte tells the formats apart: "Sun," / "Sun " / "Sund". */
    if (s[3] == ',')
        ok = httpdate_parse_imf(s, len, &tm, &year);
    else if (s[3] == ' ')
        ok = httpdate_parse_asctime(s, len, &tm, &year);
    else
        ok = httpdate_parse_rfc850(s, len, &tm, &year);
    if (!ok || !httpdate_valid_day(year, tm.tm_mon, tm.tm_mday))
        return false;

    tm.tm_year = year - 1900;
    /* Fields are validated, so timegm cannot fail here; (time_t)-1 is a
     * real instant (1969-12-31 23:59:59) and must not be read as an error.
     * A leap second (:60) becomes the first second of the next minute. */
    *t = timegm(&tm);
    return true;
}
