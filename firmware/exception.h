/*
 * The exception report. Ring 0 (lowcore.S) saves the interrupted state into
 * exception_frame and enters exception_report() in ring 3, which prints it
 * on COM1 natively and reports a panic on the power port.
 */
#pragma once

#include <stdint.h>

/* Field offsets are FRAME_* in guest.h. */
struct exception_frame {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  /* as pushed by the CPU */
    uint64_t cr2;
};

__attribute__((noreturn)) void exception_report(const struct exception_frame *f);
