/* ascii — tiny byte helpers shared by the pure parsers (http1, uri). */
#ifndef LINGERD_ASCII_H
#define LINGERD_ASCII_H

/* Value of a hexadecimal digit, or -1 if c is not one. */
static inline int ascii_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
