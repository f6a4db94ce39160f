/*
 * The AML builder's byte strings (aml_internal.h): a node's body, grown by
 * doubling, its first AML_BUF_INLINE bytes inside the node.
 */
#include "acpi/aml_internal.h"

#include <string.h>

void aml_buf_init(struct aml_buf *b)
{
    b->data = b->inline_bytes;
    b->len = 0;
    b->cap = sizeof(b->inline_bytes);
}

void aml_buf_clear(struct aml_buf *b)
{
    if (b->data != b->inline_bytes)
        g_free(b->data);
    aml_buf_init(b);
}

static void buf_reserve(struct aml_buf *b, size_t len)
{
    size_t cap = b->cap;

    if (len <= cap)
        return;
    while (cap < len)
        cap *= 2;
    if (b->data == b->inline_bytes) {
        b->data = g_malloc(cap);
        memcpy(b->data, b->inline_bytes, b->len);
    } else {
        b->data = g_realloc(b->data, cap);
    }
    b->cap = cap;
}

void aml_buf_append(struct aml_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, b->len + len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void aml_buf_set_size(struct aml_buf *b, size_t len)
{
    buf_reserve(b, len);
    if (len > b->len)
        memset(b->data + b->len, 0, len - b->len);
    b->len = len;
}
