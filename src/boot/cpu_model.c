/*
 * CPU models: KVM's supported CPUID as the base, then cut down to a named
 * model's features (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E).
 */
#include "boot/cpu_model.h"

#include <stdint.h>
#include <string.h>

#include "errors.h"

/* CPUID.1:EDX of the x86-64 baseline: fpu de pse tsc msr pae mce cx8 apic
 * sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2. */
#define BASE_1_EDX  0x078bfbfdu
/* CPUID.1:ECX: sse3 (0), cx16 (13), x2apic (21, as QEMU turns on under
 * KVM), hypervisor (31). */
#define BASE_1_ECX  ((1u << 0) | (1u << 13) | (1u << 21) | (1u << 31))
/* CPUID.80000001h:EDX: syscall (11), nx (20), lm (29), plus the leaf-1
 * bits AMD mirrors there; ECX: lahf_lm (0). */
#define BASE_X1_EDX ((BASE_1_EDX & 0x0183f3ffu) | (1u << 11) | (1u << 20) | \
                     (1u << 29))
#define BASE_X1_ECX (1u << 0)

struct named_model {
    const char *name;
    uint32_t signature;     /* CPUID.1:EAX: family, model, stepping */
    const char *brand;      /* CPUID.80000002h-80000004h */
};

/* Family 15: qemu64 model 107 stepping 1, kvm64 model 6 stepping 1. */
static const struct named_model named_models[] = {
    { "qemu64", 0x00060fb1, "QEMU Virtual CPU version 2.5+" },
    { "kvm64", 0x00000f61, "Common KVM processor" },
};

static const struct named_model *find_named(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(named_models); i++) {
        if (!strcmp(named_models[i].name, name))
            return &named_models[i];
    }
    return NULL;
}

static bool is_host(const char *name)
{
    return !name || !strcmp(name, "host") || !strcmp(name, "max");
}

bool cpu_model_known(const char *name)
{
    return is_host(name) || find_named(name);
}

const char *cpu_model_names(void)
{
    return "host, max, qemu64, kvm64";
}

bool cpu_model_phys_bits(const struct cpu_model_config *c,
                         unsigned host_bits, unsigned *out, GError **err)
{
    bool host = c->host_phys_bits > 0 ||
                (c->host_phys_bits < 0 && is_host(c->name) && !c->phys_bits);
    unsigned bits;

    if (host) {
        bits = host_bits;
        if (c->host_phys_bits_limit && c->host_phys_bits_limit < bits)
            bits = c->host_phys_bits_limit;
    } else if (c->phys_bits) {
        bits = c->phys_bits;
        if (bits > host_bits) {
            g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                        "-cpu: phys-bits=%u is more than the %u bits this "
                        "host's KVM maps: guest addresses above 2^%u could "
                        "not be backed", bits, host_bits, host_bits);
            return false;
        }
    } else {
        bits = MIN(CPU_MODEL_DEFAULT_PHYS_BITS, host_bits);
    }
    *out = bits;
    return true;
}

static void set_brand(struct kvm_cpuid_entry2 *e, const char *brand)
{
    char text[48] = { 0 };
    uint32_t regs[4];

    strncpy(text, brand, sizeof(text) - 1);
    memcpy(regs, text + 16 * (e->function - 0x80000002), sizeof(regs));
    e->eax = regs[0];
    e->ebx = regs[1];
    e->ecx = regs[2];
    e->edx = regs[3];
}

static void cut_to_named(struct kvm_cpuid_entry2 *e,
                         const struct named_model *n)
{
    switch (e->function) {
    case 1:
        e->eax = n->signature;
        e->ecx &= BASE_1_ECX;
        e->edx &= BASE_1_EDX;
        break;
    case 7:         /* structured extended features: none */
        e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    case 0x80000001:
        e->ecx &= BASE_X1_ECX;
        e->edx &= BASE_X1_EDX;
        break;
    case 0x80000002: case 0x80000003: case 0x80000004:
        set_brand(e, n->brand);
        break;
    }
}

struct kvm_cpuid2 *cpu_model_cpuid(const struct cpu_model_config *c,
                                   const struct kvm_cpuid2 *supported,
                                   unsigned phys_bits)
{
    size_t sz = sizeof(*supported) +
                supported->nent * sizeof(supported->entries[0]);
    struct kvm_cpuid2 *cpuid = g_memdup2(supported, sz);
    const struct named_model *n = find_named(c->name);

    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (n)
            cut_to_named(e, n);
        if (e->function == 0x80000008)
            e->eax = (e->eax & ~0xffu) | phys_bits;
    }
    return cpuid;
}
