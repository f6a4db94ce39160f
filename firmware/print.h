/*
 * Console output on COM1. Every line the guest prints starts with
 * PRINT_PREFIX (docs/guest-console.md).
 *
 * The format language is a printf subset, checked by the compiler:
 * %s %.*s %c %d %u %x %ld %lu %lx %%.
 */
#pragma once

#include <stdarg.h>

#define PRINT_PREFIX "hotmem-guest: "

/* Prints PRINT_PREFIX, the formatted text and a newline. */
void print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints PRINT_PREFIX, lead, the formatted text and a newline. */
void print_vline(const char *lead, const char *fmt, va_list ap);
