/*
 * Which pages of this process's private anonymous memory it has never
 * written (or has discarded): they read as zero, and asking costs a
 * system call where reading each would cost a page fault (which maps the
 * zero page, or allocates, in a fresh mapping). Used where hotmem must
 * know guest RAM is zero: zeroing the guest image's bss at startup
 * (mmu/memmap.c) and migrating untouched RAM (migration/ram.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define ANON_PAGE_SIZE 4096u

/*
 * Whether [addr, addr + size) is private anonymous memory, every byte of
 * it (/proc/self/maps: private, no inode, no name). Shared or file memory
 * has pages this process has not mapped that are not zero, so the answers
 * of anon_pages_untouched() do not hold for it.
 */
bool anon_pages_private(const void *addr, uint64_t size);

/*
 * For npages 4 KiB pages from addr (page-aligned, in private anonymous
 * memory): sets bit i of untouched (bytes zeroed by the caller) when page
 * i is neither in the page table nor in swap (/proc/self/pagemap), so
 * zero. *pagemap is the open /proc/self/pagemap, or -1 to open it here
 * (the caller closes it). False when the kernel would not say (no bit
 * set then); true otherwise, even when no page is untouched.
 */
bool anon_pages_untouched(int *pagemap, const void *addr, unsigned npages,
                          uint8_t *untouched);
