/* Framing of the migration stream (stream.h, docs/migration.md). */
#include "migration/stream.h"

#include <inttypes.h>
#include <string.h>

#include "errors.h"

#define NO_STRING 0xffffffffu

static void le_put(uint8_t *out, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)in[i] << (8 * i);
    return v;
}

void mig_header_encode(uint8_t *out)
{
    memcpy(out, MIG_MAGIC, 8);
    le_put(out + 8, MIG_FORMAT_VERSION, 4);
    le_put(out + 12, 0, 4);     /* flags: none defined */
}

bool mig_header_decode(const uint8_t *in, GError **err)
{
    uint32_t version = (uint32_t)le_get(in + 8, 4);

    if (memcmp(in, MIG_MAGIC, 8)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "not a hotmem migration stream (it does not start with "
                    "\"" MIG_MAGIC "\")");
        return false;
    }
    if (version != MIG_FORMAT_VERSION) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "migration stream format version %" PRIu32 " is not "
                    "one this hotmem reads (%u)", version,
                    MIG_FORMAT_VERSION);
        return false;
    }
    return true;
}

void mig_section_encode(uint8_t *out, const char *id, uint16_t version,
                        uint32_t instance, uint64_t length)
{
    memset(out, 0, MIG_ID_LEN);
    memcpy(out, id, MIN(strlen(id), (size_t)MIG_ID_LEN));
    le_put(out + 8, version, 2);
    le_put(out + 10, 0, 2);
    le_put(out + 12, instance, 4);
    le_put(out + 16, length, 8);
}

bool mig_section_decode(const uint8_t *in, struct mig_section *s,
                        GError **err)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->id, in, MIG_ID_LEN);
    for (unsigned i = 0; i < MIG_ID_LEN && s->id[i]; i++) {
        if (!g_ascii_isgraph(s->id[i])) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "corrupt migration stream: a section id holds byte "
                        "0x%02x", (uint8_t)s->id[i]);
            return false;
        }
    }
    s->version = (uint16_t)le_get(in + 8, 2);
    s->instance = (uint32_t)le_get(in + 12, 4);
    s->length = le_get(in + 16, 8);
    return true;
}

static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    uint8_t tmp[8];

    le_put(tmp, v, n);
    g_byte_array_append(b, tmp, n);
}

void mig_put_u8(GByteArray *b, uint8_t v) { put_le(b, v, 1); }
void mig_put_u16(GByteArray *b, uint16_t v) { put_le(b, v, 2); }
void mig_put_u32(GByteArray *b, uint32_t v) { put_le(b, v, 4); }
void mig_put_u64(GByteArray *b, uint64_t v) { put_le(b, v, 8); }

void mig_put_blob(GByteArray *b, const void *data, uint32_t len)
{
    mig_put_u32(b, len);
    g_byte_array_append(b, data, len);
}

void mig_put_str(GByteArray *b, const char *s)
{
    if (!s)
        mig_put_u32(b, NO_STRING);
    else
        mig_put_blob(b, s, (uint32_t)strlen(s));
}

void mig_put_section(GByteArray *out, const char *id, uint16_t version,
                     uint32_t instance, GByteArray *body)
{
    uint8_t hdr[MIG_SECTION_SIZE];

    mig_section_encode(hdr, id, version, instance, body->len);
    g_byte_array_append(out, hdr, sizeof(hdr));
    g_byte_array_append(out, body->data, body->len);
    g_byte_array_set_size(body, 0);
}

void mig_reader_init(struct mig_reader *r, const void *p, size_t len,
                     const char *section)
{
    *r = (struct mig_reader){ .p = p, .len = len, .section = section };
}

static const uint8_t *take(struct mig_reader *r, size_t n)
{
    const uint8_t *at;

    if (r->failed || n > r->len - r->pos) {
        r->failed = true;
        return NULL;
    }
    at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint64_t get_le(struct mig_reader *r, unsigned n)
{
    const uint8_t *at = take(r, n);

    return at ? le_get(at, n) : 0;
}

uint8_t mig_get_u8(struct mig_reader *r) { return (uint8_t)get_le(r, 1); }
uint16_t mig_get_u16(struct mig_reader *r) { return (uint16_t)get_le(r, 2); }
uint32_t mig_get_u32(struct mig_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t mig_get_u64(struct mig_reader *r) { return get_le(r, 8); }

void mig_get_blob_exact(struct mig_reader *r, void *out, uint32_t len)
{
    const uint8_t *at;

    if (mig_get_u32(r) != len) {
        r->failed = true;
        return;
    }
    at = take(r, len);
    if (at)
        memcpy(out, at, len);
}

void *mig_get_blob(struct mig_reader *r, uint32_t max, uint32_t *len)
{
    uint32_t n = mig_get_u32(r);
    const uint8_t *at;

    if (n > max) {
        r->failed = true;
        return NULL;
    }
    at = take(r, n);
    *len = n;
    return at ? g_memdup2(at, n ? n : 1) : NULL;
}

char *mig_get_str(struct mig_reader *r)
{
    uint32_t n = mig_get_u32(r);
    const uint8_t *at;

    if (r->failed || n == NO_STRING)
        return NULL;
    at = take(r, n);
    return at ? g_strndup((const char *)at, n) : NULL;
}

bool mig_reader_done(struct mig_reader *r, GError **err)
{
    if (!r->failed && r->pos == r->len)
        return true;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "corrupt migration stream: section '%s' %s", r->section,
                r->failed ? "is shorter than its fields or holds a field of "
                            "the wrong size"
                          : "is longer than its fields");
    return false;
}
