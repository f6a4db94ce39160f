/*
 * PVH entry: from 32-bit protected mode to ring 3 in 64-bit mode.
 *
 * Xen docs/misc/pvh.pandoc: we are entered at the address in the
 * XEN_ELFNOTE_PHYS32_ENTRY note, in 32-bit protected mode with paging off,
 * flat 4 GiB CS/DS/ES/SS, interrupts off, and EBX = guest-physical address of
 * struct hvm_start_info.
 *
 * Ring-0 code is emulated on the development machines (about 0.6 M
 * instructions/s), so everything here is statically initialised: the GDT, the
 * page tables and (lowcore.S) the IDT and TSS. The path from pvh_start32 to
 * ring 3 is about 30 instructions.
 */
#include "guest.h"
#include "pvh.h"
#include "x86.h"

/* Xen PVH ELF note (ELF gABI "Note Section"; Xen public/elfnote.h). */
    .section .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f                   /* namesz */
    .long 4f - 3f                   /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
1:  .asciz "Xen"
2:  .balign 4
3:  .long pvh_start32
4:  .balign 4

    .text
    .code32
    .globl pvh_start32
pvh_start32:
    /*
     * Long-mode activation, SDM Vol. 3A 10.8.5: PAE on, CR3 at a PML4,
     * EFER.LME on, then CR0.PG on. The GDT is ours before any segment load.
     */
    lgdt    gdt_ptr
    movl    $SEL_KERNEL_DATA, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    xorl    %eax, %eax
    movl    %eax, %fs
    movl    %eax, %gs

    movl    %cr4, %eax
    orl     $CR4_PAE, %eax
    movl    %eax, %cr4
    movl    $paging_pml4, %eax
    movl    %eax, %cr3
    movl    $MSR_EFER, %ecx
    rdmsr
    orl     $EFER_LME, %eax
    wrmsr
    movl    %cr0, %eax
    orl     $(CR0_PG | CR0_PE), %eax
    movl    %eax, %cr0
    ljmp    $SEL_KERNEL_CODE, $long_mode_entry

    .code64
long_mode_entry:
    movq    $ring0_stack_top, %rsp
    lidt    idt_ptr(%rip)
    movw    $SEL_TSS, %ax
    ltr     %ax

    /*
     * Drop to ring 3 (SDM Vol. 3A 6.14.3, IRET in 64-bit mode): guest_main()
     * runs natively with IOPL=3 and IF=0. RSP is 8 below a 16-byte boundary,
     * as after a call (SysV ABI 3.2.2).
     */
    movl    %ebx, %edi              /* struct hvm_start_info * */
    pushq   $SEL_USER_DATA
    pushq   $(user_stack_top - 8)
    pushq   $USER_RFLAGS
    pushq   $SEL_USER_CODE
    pushq   $guest_main
    iretq

    .data
    /*
     * GDT (SDM Vol. 3A 3.4.5 and 5.2.1; 64-bit code segments have L=1, D=0).
     * User data precedes user code as SYSRET would want, should it ever be
     * used.
     */
    .balign 16
gdt:
    .quad 0                         /* null */
    .quad 0x00af9a000000ffff        /* 0x08 ring-0 code, 64-bit */
    .quad 0x00cf92000000ffff        /* 0x10 ring-0 data, flat 4 GiB */
    .quad 0x00cff2000000ffff        /* 0x18 ring-3 data, flat 4 GiB */
    .quad 0x00affa000000ffff        /* 0x20 ring-3 code, 64-bit */
    /* 0x28: 64-bit TSS descriptor, SDM Vol. 3A 8.2.3 figure 8-4. */
    .word TSS_LIMIT                 /* limit 15:0 */
    .word TSS_ADDR & 0xffff         /* base 15:0 */
    .byte (TSS_ADDR >> 16) & 0xff   /* base 23:16 */
    .byte 0x89                      /* present, DPL 0, available 64-bit TSS */
    .byte 0                         /* limit 19:16, G=0 */
    .byte (TSS_ADDR >> 24) & 0xff   /* base 31:24 */
    .long 0                         /* base 63:32 */
    .long 0                         /* reserved */
gdt_end:

    /* Read as limit + 32-bit base by the 32-bit lgdt (SDM Vol. 2A LGDT). */
    .balign 8
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    /*
     * Boot page tables (SDM Vol. 3A 4.5): the first 1 GiB in 2 MiB pages.
     * Ring 0 needs only this image, its stacks and its tables (below 2 MiB,
     * the linker script checks); mapping the whole first GiB statically spares
     * ring 3 from writing these entries later: once a table is in use, kvm_pvm
     * write-protects it and every write to it traps (about 40 us, measured).
     * Page 0 is mapped too: VMMs may put hvm_start_info and the memory map
     * there (QEMU does). Every entry is user-accessible and writable: ring 3
     * extends the map itself (paging.c).
     */
    .balign PAGE_SIZE
    .globl paging_pml4
paging_pml4:
    .quad paging_boot_pdpt + PTE_TABLE
    .fill 511, 8, 0
paging_boot_pdpt:
    .quad paging_boot_pd + PTE_TABLE
    .fill 511, 8, 0
paging_boot_pd:
    .set boot_page, 0
    .rept 512
    .quad boot_page | PTE_P | PTE_RW | PTE_US | PTE_PS
    .set boot_page, boot_page + PAGE_SIZE_2M
    .endr

    .bss
    .balign 16
    .globl ring0_stack_top
    .globl user_stack_top
ring0_stack:
    .skip RING0_STACK_SIZE
ring0_stack_top:
user_stack:
    .skip USER_STACK_SIZE
user_stack_top:

    .section .note.GNU-stack, "", @progbits
