/*
 * CPU models (-cpu): the CPUID the vCPUs see. host and max are everything
 * KVM offers (KVM_GET_SUPPORTED_CPUID); qemu64 and kvm64 are QEMU's named
 * x86-64 baselines, KVM's table cut down to their features. The guest's
 * physical address width (CPUID 0x80000008 EAX[7:0]) comes from
 * phys-bits= / host-phys-bits= as in QEMU.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <linux/kvm.h>

struct cpu_model_config {
    const char *name;               /* NULL: host */
    unsigned phys_bits;             /* phys-bits= (0: the model's default) */
    int host_phys_bits;             /* host-phys-bits=: -1 unset, 0, 1 */
    unsigned host_phys_bits_limit;  /* host-phys-bits-limit= (0: none) */
};

/* The width QEMU gives named models when nothing else is asked. */
#define CPU_MODEL_DEFAULT_PHYS_BITS 40
#define CPU_MODEL_MIN_PHYS_BITS     32
#define CPU_MODEL_MAX_PHYS_BITS     52

bool cpu_model_known(const char *name);
/* "host, max, qemu64, kvm64", for messages and -h. */
const char *cpu_model_names(void);

/*
 * The guest's physical address width on a host whose KVM gives host_bits:
 * host-phys-bits=on (the default for host and max) takes the host's, cut
 * to host-phys-bits-limit; else phys-bits=, else 40 for a named model, as
 * in QEMU, but never more than the host's: guest addresses above them
 * could not be mapped, so asking for more is an error.
 */
bool cpu_model_phys_bits(const struct cpu_model_config *c,
                         unsigned host_bits, unsigned *out, GError **err);

/* A new CPUID table (g_free it) for the model with that width. */
struct kvm_cpuid2 *cpu_model_cpuid(const struct cpu_model_config *c,
                                   const struct kvm_cpuid2 *supported,
                                   unsigned phys_bits);
