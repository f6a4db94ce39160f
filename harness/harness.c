/*
 * hotmem-harness: shared helpers.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#include <glib/gprintf.h>

bool harness_verbose;

static void note_valist(const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    char *line = text, *nl;

    do {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        printf("# %s\n", line);
        line = nl + 1;
    } while (nl);
    fflush(stdout);
}

void harness_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    note_valist(fmt, ap);
    va_end(ap);
}

void harness_failure_note(const char *fmt, ...)
{
    va_list ap, ap2;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    note_valist(fmt, ap);
    g_vfprintf(stderr, fmt, ap2);
    fputc('\n', stderr);
    va_end(ap2);
    va_end(ap);
}

void harness_trace(const char *fmt, ...)
{
    va_list ap;

    if (!harness_verbose)
        return;
    va_start(ap, fmt);
    note_valist(fmt, ap);
    va_end(ap);
}

char *harness_printable(const char *s, gsize len)
{
    GString *out = g_string_sized_new(len);

    for (gsize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n')
            g_string_append(out, "\\n");
        else if (c == '\r')
            g_string_append(out, "\\r");
        else if (c < 0x20 || c == 0x7f)
            g_string_append_printf(out, "\\x%02x", c);
        else
            g_string_append_c(out, (char)c);
    }
    return g_string_free(out, FALSE);
}
