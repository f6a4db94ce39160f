/*
 * Guest memory inspection: guest-physical and guest-virtual ranges saved to
 * a file (QMP pmemsave and memsave, docs/mmu.md), and the vCPU paging
 * registers the guest-virtual walk starts from.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "machine/machine.h"
#include "mmu/pagewalk.h"

/*
 * CR0, CR3, CR4 and EFER of vCPU cpu (KVM_GET_SREGS). A running machine's
 * vCPUs are paused around the read and resumed after it; a paused or
 * not yet started machine is read as it is. Fails with "CPU N is not
 * present" for a bad index.
 */
bool machine_vcpu_paging_regs(struct machine *m, unsigned cpu,
                              struct pagewalk_regs *regs, GError **err);

/*
 * Writes guest-physical [addr, addr + size) to filename (created or
 * truncated, mode 0600). The whole range is checked first: when any byte is
 * not backed by a memory slot, or lies in a DIMM being removed, the error
 * names the first such address and the file is not touched.
 */
bool machine_pmemsave(struct machine *m, uint64_t addr, uint64_t size,
                      const char *filename, GError **err);

/*
 * Writes guest-virtual [addr, addr + size) as vCPU cpu sees it, through
 * that vCPU's page tables, to filename. Every page is translated and
 * checked before the file is opened; an unmapped page (or one whose
 * guest-physical page is not backed) fails naming its virtual address.
 */
bool machine_memsave(struct machine *m, uint64_t addr, uint64_t size,
                     unsigned cpu, const char *filename, GError **err);
