#include "anon_pages.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* /proc/self/pagemap entries: bit 63 present, bit 62 swapped. */
#define PAGEMAP_PRESENT_OR_SWAPPED(e) ((e) >> 62)
/* Entries read at a time. */
#define PAGEMAP_BATCH 512u

/* Skips one space-separated field and the spaces after it. */
static const char *next_field(const char *p)
{
    while (*p && *p != ' ')
        p++;
    while (*p == ' ')
        p++;
    return p;
}

/*
 * A line of /proc/self/maps, "start-end perms offset dev inode [path]":
 * whether it is private anonymous memory (no inode, no path). Parsed by
 * hand: sscanf() over every line cost 114 K instructions per call, most of
 * a startup's zeroing.
 */
static bool line_private_anon(const char *line)
{
    const char *perms = next_field(line);
    const char *inode = next_field(next_field(next_field(perms)));
    const char *path = next_field(inode);

    return perms[0] && perms[1] && perms[2] && perms[3] == 'p' &&
           inode[0] == '0' && inode[1] == ' ' &&
           (*path == '\0' || *path == '\n');
}

bool anon_pages_private(const void *addr, uint64_t size)
{
    const uintptr_t lo = (uintptr_t)addr, hi = lo + size;
    uintptr_t covered = lo;
    FILE *maps = fopen("/proc/self/maps", "re");
    char line[512];

    if (!maps)
        return false;
    /* In address order: skip what ends before the range, then each line
     * must continue it, private anonymous, until it is covered. */
    while (covered < hi && fgets(line, sizeof(line), maps)) {
        char *end_text;
        unsigned long start = strtoul(line, &end_text, 16);
        unsigned long end = *end_text == '-' ? strtoul(end_text + 1, NULL, 16)
                                             : 0;

        if (end <= covered)
            continue;
        if (start > covered || !line_private_anon(line))
            break;
        covered = end;
    }
    fclose(maps);
    return covered >= hi;
}

bool anon_pages_untouched(int *pagemap, const void *addr, unsigned npages,
                          uint8_t *untouched)
{
    uint64_t entries[PAGEMAP_BATCH];
    uint64_t page = (uintptr_t)addr / ANON_PAGE_SIZE;

    if (*pagemap < 0)
        *pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (*pagemap < 0)
        return false;
    for (unsigned done = 0; done < npages;) {
        unsigned n = npages - done < PAGEMAP_BATCH ? npages - done
                                                    : PAGEMAP_BATCH;
        size_t len = n * sizeof(uint64_t);
        off_t at = (off_t)((page + done) * sizeof(uint64_t));

        if (pread(*pagemap, entries, len, at) != (ssize_t)len) {
            for (unsigned i = 0; i < done; i++)
                untouched[i / 8] &= (uint8_t)~(1u << (i % 8));
            return false;
        }
        for (unsigned i = 0; i < n; i++) {
            unsigned bit = done + i;

            if (!PAGEMAP_PRESENT_OR_SWAPPED(entries[i]))
                untouched[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        done += n;
    }
    return true;
}
