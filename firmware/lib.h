/* Freestanding C helpers: what the C library would otherwise provide. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gcc may emit calls to these four even in freestanding code. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/*
 * Parses a hexadecimal number with an optional 0x prefix; the whole string
 * must be consumed. Returns false on an empty string, a non-hex character or
 * more than 64 bits.
 */
bool parse_hex_u64(const char *s, uint64_t *out);

/*
 * Parses a decimal number (digits only); the whole string must be consumed.
 * Returns false on an empty string, a non-digit or a value above max.
 */
bool parse_dec_u32(const char *s, uint32_t max, uint32_t *out);

static inline uint64_t align_up_u64(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static inline uint64_t align_down_u64(uint64_t v, uint64_t align)
{
    return v & ~(align - 1);
}
