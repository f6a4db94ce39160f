/*
 * The migration stream's framing (docs/migration.md): a 16-byte file
 * header, then sections, each a 24-byte header (id, version, instance,
 * length) and its body. Every integer is little-endian. Encoding appends
 * to a GByteArray; decoding walks a buffer with bounds checks, so a short
 * or corrupt body is an error naming the section, never a read past it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define MIG_MAGIC           "HOTMEMVM"
#define MIG_FORMAT_VERSION  1u
#define MIG_HEADER_SIZE     16u
#define MIG_SECTION_SIZE    24u
#define MIG_ID_LEN          8u
#define MIG_PAGE_SIZE       4096u

struct mig_section {
    char id[MIG_ID_LEN + 1];    /* NUL-terminated */
    uint16_t version;
    uint32_t instance;
    uint64_t length;            /* body bytes after the header */
};

/* The file header into out (MIG_HEADER_SIZE bytes). */
void mig_header_encode(uint8_t *out);
/* Checks magic and version; the error says what the bytes are instead. */
bool mig_header_decode(const uint8_t *in, GError **err);

/* A section header into out (MIG_SECTION_SIZE bytes). */
void mig_section_encode(uint8_t *out, const char *id, uint16_t version,
                        uint32_t instance, uint64_t length);
/* False (error) when the id is not printable ASCII. */
bool mig_section_decode(const uint8_t *in, struct mig_section *s,
                        GError **err);

/* ---- bodies -------------------------------------------------------------- */

void mig_put_u8(GByteArray *b, uint8_t v);
void mig_put_u16(GByteArray *b, uint16_t v);
void mig_put_u32(GByteArray *b, uint32_t v);
void mig_put_u64(GByteArray *b, uint64_t v);
/* u32 length, then the bytes. */
void mig_put_blob(GByteArray *b, const void *data, uint32_t len);
/* A string, or NULL (length 0xffffffff). */
void mig_put_str(GByteArray *b, const char *s);
/*
 * Appends a whole section: its header, then body (which is emptied, so
 * the caller can build the next one in it).
 */
void mig_put_section(GByteArray *out, const char *id, uint16_t version,
                     uint32_t instance, GByteArray *body);

/* A body being read. The first failure sticks: later gets return 0. */
struct mig_reader {
    const uint8_t *p;
    size_t len, pos;
    const char *section;    /* for errors */
    bool failed;
};

void mig_reader_init(struct mig_reader *r, const void *p, size_t len,
                     const char *section);
uint8_t mig_get_u8(struct mig_reader *r);
uint16_t mig_get_u16(struct mig_reader *r);
uint32_t mig_get_u32(struct mig_reader *r);
uint64_t mig_get_u64(struct mig_reader *r);
/* Copies a blob of exactly len bytes; a different length fails. */
void mig_get_blob_exact(struct mig_reader *r, void *out, uint32_t len);
/* A blob of any length up to max: a new copy (g_free it), or NULL. */
void *mig_get_blob(struct mig_reader *r, uint32_t max, uint32_t *len);
/* A new string (g_free it), or NULL (also after a failure). */
char *mig_get_str(struct mig_reader *r);
/* Fails unless every byte was read and nothing failed, naming the
 * section. */
bool mig_reader_done(struct mig_reader *r, GError **err);
