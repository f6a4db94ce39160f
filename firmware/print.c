/* A printf subset for console lines (see print.h). */
#include "print.h"

#include <stdbool.h>
#include <stdint.h>

#include "serial.h"

static void put_str(const char *s, int max)
{
    for (; *s && max != 0; s++, max--)
        serial_putc(*s);
}

/* Lowercase, no leading zeros (0 prints as "0"). */
static void put_unsigned(uint64_t v, unsigned base)
{
    char digits[20];
    int n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        serial_putc(digits[--n]);
}

static void put_signed(int64_t v)
{
    if (v < 0) {
        serial_putc('-');
        put_unsigned(-(uint64_t)v, 10);
    } else {
        put_unsigned((uint64_t)v, 10);
    }
}

static void put_formatted(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        bool is_long = false;
        int precision = -1;

        if (*fmt != '%') {
            serial_putc(*fmt);
            continue;
        }
        fmt++;
        if (fmt[0] == '.' && fmt[1] == '*') {
            precision = va_arg(ap, int);
            fmt += 2;
        }
        if (*fmt == 'l') {
            is_long = true;
            fmt++;
        }
        switch (*fmt) {
        case 's':
            put_str(va_arg(ap, const char *), precision);
            break;
        case 'c':
            serial_putc((char)va_arg(ap, int));
            break;
        case 'd':
            put_signed(is_long ? va_arg(ap, long) : va_arg(ap, int));
            break;
        case 'u':
            put_unsigned(is_long ? va_arg(ap, unsigned long)
                                 : va_arg(ap, unsigned int), 10);
            break;
        case 'x':
            put_unsigned(is_long ? va_arg(ap, unsigned long)
                                 : va_arg(ap, unsigned int), 16);
            break;
        case '%':
            serial_putc('%');
            break;
        default:
            /* Unsupported conversion: show it rather than guess. */
            serial_putc('%');
            if (!*fmt)
                return;
            serial_putc(*fmt);
            break;
        }
    }
}

void print_vline(const char *lead, const char *fmt, va_list ap)
{
    put_str(PRINT_PREFIX, -1);
    put_str(lead, -1);
    put_formatted(fmt, ap);
    serial_putc('\n');
}

void print_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    print_vline("", fmt, ap);
    va_end(ap);
}
