/*
 * vCPU threads. Each loops on KVM_RUN and hands exits to one small helper
 * per exit reason. Pausing and stopping use the immediate_exit protocol
 * (Documentation/virt/kvm/api.rst, "immediate_exit"): set the flag, then
 * signal the thread so a KVM_RUN in progress returns -EINTR.
 */
#include "boot/vcpu.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/vcpu_state.h"
#include "errors.h"

#define SIG_KICK SIGUSR1

struct vcpu {
    struct vcpus *group;
    unsigned index;
    int fd;
    struct kvm_run *run;
    struct kvm_dirty_gfn *dirty_ring;   /* NULL without the dirty ring */
    pthread_t thread;
    bool thread_started;
    int tid;                /* the thread's Linux id; 0 until it runs */
    struct vcpu_state *power_on;        /* as created, for a reset */
    unsigned throttle_us;   /* atomic: sleep this long outside KVM_RUN */
};

struct vcpus {
    struct kvm *kvm;
    struct kvm_cpuid2 *cpuid;   /* the CPU model's table */
    struct vcpu_hooks hooks;
    unsigned count;
    struct vcpu *cpus;
    GMutex lock;
    GCond cond;
    bool paused;
    bool held;              /* a machine reset is under way */
    bool stopping;
    unsigned parked;        /* threads waiting in park() */
    bool throttled;         /* a throttle is on: its sleeps may go on */
    unsigned running;       /* threads not yet finished */
};

static void kick_handler(int sig)
{
    (void)sig;
}

static void install_kick_handler(void)
{
    struct sigaction sa = { .sa_handler = kick_handler };

    sigemptyset(&sa.sa_mask);
    sigaction(SIG_KICK, &sa, NULL);     /* no SA_RESTART: KVM_RUN must end */
}

/* CPUID per vCPU: the host's supported set plus this vCPU's APIC id. */
static bool setup_cpuid(struct vcpu *c, GError **err)
{
    const struct kvm_cpuid2 *src = c->group->cpuid;
    size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
    g_autofree struct kvm_cpuid2 *cpuid = g_memdup2(src, sz);

    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffff) | (c->index << 24);
            e->ecx |= 1u << 31;     /* hypervisor present */
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = c->index;      /* x2APIC id */
        }
    }
    return kvm_ioctl(c->fd, KVM_SET_CPUID2, cpuid, err);
}

/* CPUID leaf 0's vendor is AMD's (or Hygon's, AMD's design). */
static bool cpuid_vendor_amd(const struct kvm_cpuid2 *cpuid)
{
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 0)
            return (e->ebx == 0x68747541 && e->edx == 0x69746e65 &&
                    e->ecx == 0x444d4163) ||        /* AuthenticAMD */
                   (e->ebx == 0x6f677948 && e->edx == 0x6e65476e &&
                    e->ecx == 0x656e6975);          /* HygonGenuine */
    }
    return false;
}

#define MSR_K7_HWCR             0xc0010015
#define HWCR_TSC_FREQ_SEL       (1ULL << 24)

/*
 * AMD's HWCR.TscFreqSel (bit 24): the TSC counts at the P0 frequency. Every
 * AMD CPU since family 10h sets it, and Linux prints "[Firmware Bug]: TSC
 * doesn't count with P0 frequency!" when a vCPU says otherwise (AMD BKDG for
 * family 10h, MSRC001_0015). Recent KVMs let the VMM set it (their
 * selftest hwcr_msr_test); older ones (6.1) refuse the write, harmlessly:
 * the vCPU then keeps KVM's reset value, as QEMU's do.
 */
static bool setup_msrs(struct vcpu *c, GError **err)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = { .hdr.nmsrs = 1, .e.index = MSR_K7_HWCR };
    int got;

    if (!cpuid_vendor_amd(c->group->kvm->cpuid))
        return true;
    got = __kvm_ioctl(c->fd, KVM_GET_MSRS, &m);
    if (got != 1) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_GET_MSRS of HWCR (0x%x) on vCPU %u failed: %s",
                    MSR_K7_HWCR, c->index,
                    got < 0 ? g_strerror(-got) : "MSR not supported");
        return false;
    }
    if (m.e.data & HWCR_TSC_FREQ_SEL)
        return true;
    m.e.data |= HWCR_TSC_FREQ_SEL;
    got = __kvm_ioctl(c->fd, KVM_SET_MSRS, &m);
    if (got < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_SET_MSRS of HWCR on vCPU %u failed: %s", c->index,
                    g_strerror(-got));
        return false;
    }
    return true;        /* got == 0: this KVM refuses the bit (see above) */
}

static size_t dirty_ring_bytes(struct vcpus *v)
{
    return (size_t)v->kvm->dirty_ring_entries * sizeof(struct kvm_dirty_gfn);
}

/* The ring lives in the vCPU fd at KVM_DIRTY_LOG_PAGE_OFFSET pages. */
static bool map_dirty_ring(struct vcpu *c, GError **err)
{
    void *p;

    if (!c->group->kvm->dirty_ring_entries)
        return true;
    p = mmap(NULL, dirty_ring_bytes(c->group), PROT_READ | PROT_WRITE,
             MAP_SHARED, c->fd,
             (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
    if (p == MAP_FAILED) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "mmap of vCPU %u dirty ring failed: %s", c->index,
                    g_strerror(errno));
        return false;
    }
    c->dirty_ring = p;
    return true;
}

static bool create_one(struct vcpus *v, unsigned i, GError **err)
{
    struct vcpu *c = &v->cpus[i];
    int fd = __kvm_ioctl(v->kvm->vm_fd, KVM_CREATE_VCPU, (void *)(long)i);

    c->group = v;
    c->index = i;
    c->fd = -1;
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "KVM_CREATE_VCPU %u failed: %s", i, g_strerror(-fd));
        return false;
    }
    c->fd = fd;
    c->run = mmap(NULL, (size_t)v->kvm->run_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED, fd, 0);
    if (c->run == MAP_FAILED) {
        c->run = NULL;
        g_set_error(err, HM_ERROR, HM_ERROR_KVM,
                    "mmap of vCPU %u run area failed: %s", i,
                    g_strerror(errno));
        return false;
    }
    if (!map_dirty_ring(c, err) || !setup_cpuid(c, err) ||
        !setup_msrs(c, err))
        return false;
    c->power_on = vcpu_state_save(v->kvm, fd, err);
    return c->power_on != NULL;
}

struct vcpus *vcpus_create(struct kvm *kvm, unsigned count,
                           const struct kvm_cpuid2 *cpuid,
                           const struct vcpu_hooks *hooks, GError **err)
{
    struct vcpus *v = g_new0(struct vcpus, 1);

    v->kvm = kvm;
    v->cpuid = g_memdup2(cpuid, sizeof(*cpuid) +
                                cpuid->nent * sizeof(cpuid->entries[0]));
    v->hooks = *hooks;
    v->count = count;
    v->cpus = g_new0(struct vcpu, count);
    g_mutex_init(&v->lock);
    g_cond_init(&v->cond);
    for (unsigned i = 0; i < count; i++)
        v->cpus[i].fd = -1;
    install_kick_handler();
    for (unsigned i = 0; i < count; i++) {
        if (!create_one(v, i, err)) {
            vcpus_destroy(v);
            return NULL;
        }
    }
    return v;
}

void vcpus_destroy(struct vcpus *v)
{
    if (!v)
        return;
    vcpus_stop(v);
    for (unsigned i = 0; i < v->count; i++) {
        if (v->cpus[i].run)
            munmap(v->cpus[i].run, (size_t)v->kvm->run_size);
        if (v->cpus[i].dirty_ring)
            munmap(v->cpus[i].dirty_ring, dirty_ring_bytes(v));
        if (v->cpus[i].fd >= 0)
            close(v->cpus[i].fd);
        vcpu_state_free(v->cpus[i].power_on);
    }
    g_mutex_clear(&v->lock);
    g_cond_clear(&v->cond);
    g_free(v->cpuid);
    g_free(v->cpus);
    g_free(v);
}

static void set_flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
                             bool code64)
{
    *s = (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
        .present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1,
        .l = code64 ? 1 : 0, .g = 1,
    };
}

/* PVH: 32-bit flat protected mode, paging off (Xen docs/misc/pvh.pandoc). */
static void boot_sregs_prot32(struct kvm_sregs *sr)
{
    set_flat_segment(&sr->cs, 0x10, 0xb, false);
    set_flat_segment(&sr->ds, 0x18, 0x3, false);
    sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
    sr->tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1,
                                   .selector = 0x20 };
    sr->cr0 = 0x11;         /* PE | ET */
    sr->cr4 = 0;
    sr->efer = 0;
}

/* Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst). */
static void boot_sregs_long64(struct kvm_sregs *sr,
                              const struct boot_entry *e)
{
    set_flat_segment(&sr->cs, BOOT_CS_SELECTOR, 0xb, true);
    set_flat_segment(&sr->ds, BOOT_DS_SELECTOR, 0x3, false);
    sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
    sr->tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1,
                                   .selector = 0x20 };
    sr->gdt.base = e->gdt_base;
    sr->gdt.limit = e->gdt_limit;
    sr->cr3 = e->cr3;
    sr->cr4 = 0x20;         /* PAE */
    sr->cr0 = 0x80000011;   /* PG | ET | PE */
    sr->efer = 0x500;       /* LME | LMA */
}

bool vcpus_set_boot_state(struct vcpus *v, const struct boot_entry *entry,
                          GError **err)
{
    struct vcpu *c = &v->cpus[0];
    struct kvm_sregs sr;
    struct kvm_regs regs = { .rflags = 0x2, .rip = entry->rip,
                             .rbx = entry->rbx, .rsi = entry->rsi };

    if (!kvm_ioctl(c->fd, KVM_GET_SREGS, &sr, err))
        return false;
    if (entry->mode == BOOT_CPU_PROT32)
        boot_sregs_prot32(&sr);
    else
        boot_sregs_long64(&sr, entry);
    return kvm_ioctl(c->fd, KVM_SET_SREGS, &sr, err) &&
           kvm_ioctl(c->fd, KVM_SET_REGS, &regs, err);
}

int vcpus_fd(struct vcpus *v, unsigned index)
{
    return v && index < v->count ? v->cpus[index].fd : -1;
}

int vcpus_thread_id(struct vcpus *v, unsigned index)
{
    struct vcpu *c = index < v->count ? &v->cpus[index] : NULL;
    int tid;

    if (!c || !c->thread_started)
        return 0;
    /* A thread just created may not have run yet: its id comes at once. */
    g_mutex_lock(&v->lock);
    while (!c->tid)
        g_cond_wait(&v->cond, &v->lock);
    tid = c->tid;
    g_mutex_unlock(&v->lock);
    return tid;
}

struct kvm_dirty_gfn *vcpus_dirty_ring(struct vcpus *v, unsigned index)
{
    return v && index < v->count ? v->cpus[index].dirty_ring : NULL;
}

unsigned vcpus_count(struct vcpus *v)
{
    return v ? v->count : 0;
}

char *vcpus_dump_regs(struct vcpus *v, unsigned index)
{
    struct vcpu *c = &v->cpus[index];
    struct kvm_regs r;
    struct kvm_sregs s;

    if (__kvm_ioctl(c->fd, KVM_GET_REGS, &r) < 0 ||
        __kvm_ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
        return g_strdup_printf("vCPU %u: registers unavailable", index);
    return g_strdup_printf(
        "vCPU %u registers:\n"
        " RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
        " RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
        " R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
        " R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
        " RIP=%016llx RFLAGS=%08llx CS=%04x SS=%04x\n"
        " CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%08llx\n"
        " GDT=%016llx/%04x IDT=%016llx/%04x",
        index, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip,
        r.rflags, s.cs.selector, s.ss.selector, s.cr0, s.cr2, s.cr3, s.cr4,
        s.efer, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

/*
 * At a shutdown intercept KVM on AMD reinitialises the vCPU (the VMCB is
 * undefined after SHUTDOWN, AMD APM vol. 2, 15.11; arch/x86/kvm/svm/svm.c,
 * shutdown_interception()), so the registers read then are the INIT state
 * of Intel SDM vol. 3A 10.1.1 / APM 14.1.3 (CS 0xf000, RIP 0xfff0, CR0
 * 0x60000010, or 0x10 with CD and NW clear as the nested host's KVM leaves
 * it), not the crashed ones. Said in the report, or a reader
 * chases a guest that seems to have died at the reset vector.
 */
static bool in_init_state(int fd)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    return __kvm_ioctl(fd, KVM_GET_REGS, &r) == 0 &&
           __kvm_ioctl(fd, KVM_GET_SREGS, &s) == 0 &&
           s.cs.selector == 0xf000 && r.rip == 0xfff0 &&
           (s.cr0 & ~(uint64_t)0x60000000) == 0x10;
}

static void fatal(struct vcpu *c, const char *what)
{
    g_autofree char *regs = vcpus_dump_regs(c->group, c->index);

    c->group->hooks.fatal(c->group->hooks.opaque, c->index, what, regs);
}

static void handle_io(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

    for (uint32_t i = 0; i < run->io.count; i++) {
        bus_dispatch(c->group->hooks.bus, BUS_PIO, run->io.port, data,
                     run->io.size, is_write);
        data += run->io.size;
    }
}

static void handle_mmio(struct vcpu *c)
{
    struct kvm_run *run = c->run;

    bus_dispatch(c->group->hooks.bus, BUS_MMIO, run->mmio.phys_addr,
                 run->mmio.data, run->mmio.len, run->mmio.is_write);
}

/* Handles one exit; false when the vCPU cannot continue. */
static bool handle_exit(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    g_autofree char *what = NULL;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(c);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(c);
        return true;
    case KVM_EXIT_DIRTY_RING_FULL:
        /* The ring must be harvested and reset before KVM_RUN goes on. */
        if (c->group->hooks.dirty_ring_full)
            c->group->hooks.dirty_ring_full(c->group->hooks.opaque, c->index);
        return true;
    case KVM_EXIT_INTR:
    case KVM_EXIT_HLT:
        return true;
    case KVM_EXIT_SHUTDOWN:
        fatal(c, in_init_state(c->fd)
                 ? "guest triple fault (KVM_EXIT_SHUTDOWN); KVM reset the "
                   "vCPU at the shutdown (AMD SVM): the registers below are "
                   "its INIT state, the crashed state is lost; the guest's "
                   "console output is what is left"
                 : "guest triple fault (KVM_EXIT_SHUTDOWN)");
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        return c->group->hooks.system_event(c->group->hooks.opaque,
                                            c->index,
                                            run->system_event.type);
    case KVM_EXIT_FAIL_ENTRY:
        what = g_strdup_printf("KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
                               run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        what = g_strdup_printf("KVM_EXIT_INTERNAL_ERROR, suberror %u",
                               run->internal.suberror);
        break;
    default:
        what = g_strdup_printf("unhandled KVM exit reason %u",
                               run->exit_reason);
        break;
    }
    fatal(c, what);
    return false;
}

static bool must_park(struct vcpus *v)
{
    return (v->paused || v->held) && !v->stopping;
}

/*
 * Waits while the group is paused or held; returns false when stopping.
 * Before it parks, the vCPU enters KVM_RUN once with immediate_exit set:
 * KVM then completes the I/O exit it last returned with (an OUT's
 * instruction is skipped, an IN's value lands in RAX) without running the
 * guest, so its registers are final while it is parked, and a reset's
 * registers are not later moved past a half-done instruction.
 */
static bool park_if_needed(struct vcpu *c)
{
    struct vcpus *v = c->group;
    bool go_on, park;

    g_mutex_lock(&v->lock);
    park = must_park(v);
    g_mutex_unlock(&v->lock);
    if (park) {
        c->run->immediate_exit = 1;
        (void)__kvm_ioctl(c->fd, KVM_RUN, NULL);    /* -EINTR */
        c->run->immediate_exit = 0;
    }
    g_mutex_lock(&v->lock);
    while (must_park(v)) {
        v->parked++;
        g_cond_broadcast(&v->cond);
        g_cond_wait(&v->cond, &v->lock);
        v->parked--;
    }
    go_on = !v->stopping;
    g_mutex_unlock(&v->lock);
    return go_on;
}

/*
 * A throttle kick (vcpus_throttle_kick) asked this vCPU to stay out of
 * KVM_RUN for a while: it sleeps, unless the group is paused, held or
 * stopping meanwhile (those broadcast cond).
 */
static void throttle_if_asked(struct vcpu *c)
{
    struct vcpus *v = c->group;
    unsigned us = __atomic_exchange_n(&c->throttle_us, 0, __ATOMIC_ACQ_REL);
    gint64 until = g_get_monotonic_time() + us;

    if (!us)
        return;
    g_mutex_lock(&v->lock);
    while (v->throttled && !must_park(v) && !v->stopping &&
           g_cond_wait_until(&v->cond, &v->lock, until))
        ;
    g_mutex_unlock(&v->lock);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *c = arg;
    g_autofree char *name = g_strdup_printf("vcpu%u", c->index);
    sigset_t kick;

    pthread_setname_np(pthread_self(), name);
    g_mutex_lock(&c->group->lock);
    c->tid = (int)gettid();
    g_cond_broadcast(&c->group->cond);
    g_mutex_unlock(&c->group->lock);
    sigemptyset(&kick);
    sigaddset(&kick, SIG_KICK);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
    for (;;) {
        c->run->immediate_exit = 0;
        if (!park_if_needed(c))
            break;
        throttle_if_asked(c);
        if (__kvm_ioctl(c->fd, KVM_RUN, NULL) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fatal(c, g_strerror(errno));
            break;
        }
        if (!handle_exit(c))
            break;
    }
    g_mutex_lock(&c->group->lock);
    c->group->running--;
    g_cond_broadcast(&c->group->cond);
    g_mutex_unlock(&c->group->lock);
    return NULL;
}

bool vcpus_start(struct vcpus *v, bool paused, GError **err)
{
    sigset_t all, old;
    int r = 0;

    v->paused = paused;
    /* vCPU threads take no process signals; SIGINT/SIGTERM go to main. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < v->count && r == 0; i++) {
        g_mutex_lock(&v->lock);
        v->running++;
        g_mutex_unlock(&v->lock);
        r = pthread_create(&v->cpus[i].thread, NULL, vcpu_thread,
                           &v->cpus[i]);
        if (r == 0) {
            v->cpus[i].thread_started = true;
        } else {
            g_mutex_lock(&v->lock);
            v->running--;
            g_mutex_unlock(&v->lock);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "cannot create vCPU thread: %s", g_strerror(r));
        vcpus_stop(v);
        return false;
    }
    return true;
}

static void kick_all(struct vcpus *v)
{
    for (unsigned i = 0; i < v->count; i++) {
        struct vcpu *c = &v->cpus[i];

        if (!c->thread_started)
            continue;
        __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(c->thread, SIG_KICK);
    }
}

void vcpus_throttle_kick(struct vcpus *v, unsigned sleep_us)
{
    /* Off: a sleep taken from an earlier kick, begun or not, ends. */
    g_mutex_lock(&v->lock);
    v->throttled = sleep_us != 0;
    if (!sleep_us)
        g_cond_broadcast(&v->cond);
    g_mutex_unlock(&v->lock);
    if (!sleep_us)
        return;
    for (unsigned i = 0; i < v->count; i++)
        __atomic_store_n(&v->cpus[i].throttle_us, sleep_us,
                         __ATOMIC_RELEASE);
    kick_all(v);
}

void vcpus_request_pause(struct vcpus *v)
{
    if (!v)
        return;
    g_mutex_lock(&v->lock);
    v->paused = true;
    g_cond_broadcast(&v->cond);     /* a throttled vCPU wakes to park */
    g_mutex_unlock(&v->lock);
    kick_all(v);
}

void vcpus_pause(struct vcpus *v)
{
    if (!v)
        return;
    vcpus_request_pause(v);
    g_mutex_lock(&v->lock);
    while (v->parked < v->running && !v->stopping)
        g_cond_wait(&v->cond, &v->lock);
    g_mutex_unlock(&v->lock);
}

void vcpus_resume(struct vcpus *v)
{
    if (!v)
        return;
    g_mutex_lock(&v->lock);
    v->paused = false;
    g_cond_broadcast(&v->cond);
    g_mutex_unlock(&v->lock);
}

bool vcpus_paused(struct vcpus *v)
{
    bool p;

    if (!v)
        return false;
    g_mutex_lock(&v->lock);
    p = v->paused;
    g_mutex_unlock(&v->lock);
    return p;
}

void vcpus_hold(struct vcpus *v)
{
    g_mutex_lock(&v->lock);
    v->held = true;
    g_cond_broadcast(&v->cond);     /* a throttled vCPU wakes to park */
    g_mutex_unlock(&v->lock);
    kick_all(v);
}

void vcpus_wait_parked(struct vcpus *v)
{
    g_mutex_lock(&v->lock);
    while (v->parked < v->running && !v->stopping)
        g_cond_wait(&v->cond, &v->lock);
    g_mutex_unlock(&v->lock);
}

void vcpus_release(struct vcpus *v)
{
    g_mutex_lock(&v->lock);
    v->held = false;
    g_cond_broadcast(&v->cond);
    g_mutex_unlock(&v->lock);
}

bool vcpus_reset(struct vcpus *v, const struct boot_entry *entry,
                 GError **err)
{
    for (unsigned i = 0; i < v->count; i++) {
        if (!vcpu_state_restore(v->cpus[i].power_on, v->cpus[i].fd, err)) {
            g_prefix_error(err, "reset of vCPU %u: ", i);
            return false;
        }
    }
    return vcpus_set_boot_state(v, entry, err);
}

void vcpus_stop(struct vcpus *v)
{
    if (!v)
        return;
    g_mutex_lock(&v->lock);
    v->stopping = true;
    g_cond_broadcast(&v->cond);
    g_mutex_unlock(&v->lock);
    kick_all(v);
    for (unsigned i = 0; i < v->count; i++) {
        if (v->cpus[i].thread_started) {
            pthread_join(v->cpus[i].thread, NULL);
            v->cpus[i].thread_started = false;
        }
    }
}
