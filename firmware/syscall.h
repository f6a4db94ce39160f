/* Ring 3 side of the system call interface (lowcore.S, guest.h SYS_*). */
#pragma once

#include "guest.h"

static inline long syscall0(long nr)
{
    long ret;

    __asm__ volatile("int3" : "=a"(ret) : "a"(nr) : "memory");
    return ret;
}

/* Sleeps until the next interrupt; ring 3 keeps IF=0 otherwise. */
static inline void sys_idle(void)
{
    syscall0(SYS_IDLE);
}

static inline __attribute__((noreturn)) void sys_triple_fault(void)
{
    syscall0(SYS_TRIPLE_FAULT);
    __builtin_unreachable();
}
