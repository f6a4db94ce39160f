/*
 * pmemsave and memsave (docs/mmu.md). Both see their range as a sequence of
 * pieces, each contiguous in guest-physical memory: one per memory slot
 * crossed for pmemsave, one per guest page for memsave. Two passes: the
 * first resolves and checks every piece, so an error leaves the file
 * alone; the second copies through a bounce buffer with
 * memmap_read_nofault(), which holds the memslot table's read lock during
 * each copy, so a DIMM ejected meanwhile cannot be unmapped under it, and
 * lets the kernel make the copy, so memory the host cannot provide (a file
 * DIMM's file truncated behind our back) is an error instead of SIGBUS.
 *
 * Nothing of it runs on the main loop: the file is opened and written by a
 * thread of its own (one per save), non-blocking, so a FIFO with no reader
 * fails at once (ENXIO) and a slow one makes the thread wait in poll(),
 * holding no lock. The result goes back to the main context; shutting
 * down cancels saves still running (machine_inspect_cancel_all()).
 */
#include "machine/machine_inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errors.h"
#include "machine/machine_internal.h"

#define COPY_CHUNK      (1u << 20)

/* Where byte pos of the range is: gpa, and how many bytes from there on
 * (at most size - pos) are contiguous in guest-physical memory. */
typedef bool (*resolve_fn)(void *opaque, uint64_t pos, uint64_t *gpa,
                           uint64_t *len, GError **err);

struct source {
    struct machine *m;
    uint64_t addr, size;
    resolve_fn resolve;
    unsigned cpu;                   /* memsave */
    struct pagewalk_regs regs;      /* memsave */
};

bool machine_vcpu_paging_regs(struct machine *m, unsigned cpu,
                              struct pagewalk_regs *regs, GError **err)
{
    struct kvm_sregs sr;
    bool pause, ok;

    if (cpu >= vcpus_count(m->vcpus)) {
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "CPU %u is not present (the machine has %u)", cpu,
                    vcpus_count(m->vcpus));
        return false;
    }
    /*
     * KVM_GET_SREGS waits for a KVM_RUN in progress on that vCPU to end,
     * which may be never for a halted guest: park the vCPUs first, and let
     * them go again only if they were running.
     */
    pause = machine_run_state(m) == MACHINE_RUNNING &&
            !vcpus_paused(m->vcpus);
    if (pause)
        vcpus_pause(m->vcpus);
    ok = kvm_ioctl(vcpus_fd(m->vcpus, cpu), KVM_GET_SREGS, &sr, err);
    if (pause)
        vcpus_resume(m->vcpus);
    if (!ok)
        return false;
    *regs = (struct pagewalk_regs){ .cr0 = sr.cr0, .cr3 = sr.cr3,
                                    .cr4 = sr.cr4, .efer = sr.efer };
    return true;
}

static bool resolve_phys(void *opaque, uint64_t pos, uint64_t *gpa,
                         uint64_t *len, GError **err)
{
    struct source *src = opaque;

    *gpa = src->addr + pos;
    *len = src->size - pos;
    return true;
}

static bool read_guest_phys(void *opaque, uint64_t pa, void *buf, size_t len)
{
    uint64_t bad;

    return memmap_read_nofault(opaque, pa, buf, len, &bad) == MEMMAP_READ_OK;
}

static bool resolve_virt(void *opaque, uint64_t pos, uint64_t *gpa,
                         uint64_t *len, GError **err)
{
    struct source *src = opaque;
    uint64_t va = src->addr + pos, page_size;

    if (!pagewalk_translate(&src->regs, read_guest_phys, src->m->memmap, va,
                            gpa, &page_size, err)) {
        g_prefix_error(err, "CPU %u: ", src->cpu);
        return false;
    }
    *len = MIN(page_size - (va & (page_size - 1)), src->size - pos);
    return true;
}

/*
 * The first address of [gpa, gpa + len) that no translation reaches (no
 * slot, or a DIMM being removed). The cache tells where a slot ends.
 */
static bool find_unbacked(struct memmap *mm, struct memmap_cache *c,
                          uint64_t gpa, uint64_t len, uint64_t *bad)
{
    uint64_t end = gpa + len;       /* may be 0: the top of the space */

    while (gpa != end) {
        if (!memmap_translate(mm, c, gpa, 1)) {
            *bad = gpa;
            return true;
        }
        if (c->gpa + c->size - gpa >= end - gpa)
            break;
        gpa = c->gpa + c->size;
    }
    return false;
}

static void set_unbacked_error(const struct source *src, uint64_t pos,
                               uint64_t gpa, GError **err)
{
    const char *why = "is not backed by guest memory (no memory slot "
                      "there, or a DIMM being removed)";

    if (src->resolve == resolve_phys)
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid addr 0x%" PRIx64 "/size %" PRIu64 " specified:"
                    " guest-physical address 0x%" PRIx64 " %s", src->addr,
                    src->size, gpa, why);
    else
        g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                    "Invalid addr 0x%" PRIx64 "/size %" PRIu64 " specified:"
                    " CPU %u: virtual address 0x%" PRIx64 " (guest-physical "
                    "0x%" PRIx64 ") %s", src->addr, src->size, src->cpu,
                    src->addr + pos, gpa, why);
}

/* First pass: every piece resolves and is backed. */
static bool check_source(struct source *src, GError **err)
{
    struct memmap_cache cache = { 0 };
    uint64_t pos = 0, gpa, len, bad;

    while (pos < src->size) {
        if (!src->resolve(src, pos, &gpa, &len, err)) {
            g_prefix_error(err, "Invalid addr 0x%" PRIx64 "/size %" PRIu64
                           " specified: ", src->addr, src->size);
            return false;
        }
        if (find_unbacked(src->m->memmap, &cache, gpa, len, &bad)) {
            set_unbacked_error(src, pos + (bad - gpa), bad, err);
            return false;
        }
        pos += len;
    }
    return true;
}

/* The target is full (a pipe nobody drains fast enough): wait for room or
 * for a cancel. False when cancelled. */
static bool wait_writable(int fd, int cancel_fd)
{
    struct pollfd p[2] = { { fd, POLLOUT, 0 }, { cancel_fd, POLLIN, 0 } };

    while (poll(p, 2, -1) < 0 && errno == EINTR)
        ;
    return !(p[1].revents & POLLIN);
}

static bool write_all(int fd, int cancel_fd, const uint8_t *buf, size_t len,
                      const char *filename, GError **err)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_writable(fd, cancel_fd))
                continue;
            g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                        "cancelled while writing '%s': hotmem is shutting "
                        "down", filename);
            return false;
        }
        if (n < 0) {
            g_set_error(err, HM_ERROR, HM_ERROR_IO,
                        "cannot write '%s': %s", filename,
                        g_strerror(errno));
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Fills buf with up to cap bytes from pos on; *got says how many. */
static bool gather(struct source *src, uint64_t pos, uint8_t *buf,
                   size_t cap, size_t *got, GError **err)
{
    size_t fill = 0;

    while (fill < cap && pos < src->size) {
        uint64_t gpa, len, bad;

        if (!src->resolve(src, pos, &gpa, &len, err))
            return false;
        len = MIN(len, (uint64_t)(cap - fill));
        switch (memmap_read_nofault(src->m->memmap, gpa, buf + fill, len,
                                    &bad)) {
        case MEMMAP_READ_OK:
            break;
        case MEMMAP_READ_UNMAPPED:
            g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                        "guest-physical 0x%" PRIx64 " stopped being backed "
                        "by guest memory while saving (a DIMM was removed)",
                        gpa);
            return false;
        case MEMMAP_READ_FAULT:
            g_set_error(err, HM_ERROR, HM_ERROR_IO,
                        "guest memory at 0x%" PRIx64 " is not accessible "
                        "(backing file truncated?): nothing saved", bad);
            return false;
        }
        fill += len;
        pos += len;
    }
    *got = fill;
    return true;
}

/* Second pass: copy to the open file. */
static bool copy_source(struct source *src, int fd, int cancel_fd,
                        const char *filename, GError **err)
{
    g_autofree uint8_t *buf = g_malloc(MIN(src->size, (uint64_t)COPY_CHUNK)
                                       + 1);
    uint64_t pos = 0;

    while (pos < src->size) {
        size_t got;

        if (!gather(src, pos, buf, COPY_CHUNK, &got, err) ||
            !write_all(fd, cancel_fd, buf, got, filename, err))
            return false;
        pos += got;
    }
    return true;
}

static bool range_wraps(uint64_t addr, uint64_t size, GError **err)
{
    if (size == 0 || addr + (size - 1) >= addr)
        return false;
    g_set_error(err, HM_ERROR, HM_ERROR_INVALID,
                "Invalid addr 0x%" PRIx64 "/size %" PRIu64 " specified: "
                "the range wraps around the end of the address space",
                addr, size);
    return true;
}

/*
 * O_NONBLOCK: opening a FIFO nobody reads fails with ENXIO instead of
 * waiting for a reader (QEMU waits), and writes never block.
 */
static bool save_source(struct source *src, const char *filename,
                        int cancel_fd, GError **err)
{
    int fd;
    bool ok;

    if (range_wraps(src->addr, src->size, err) || !check_source(src, err))
        return false;
    fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
              O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "Could not open '%s': %s%s",
                    filename, g_strerror(errno),
                    errno == ENXIO ? " (a FIFO nobody has open for reading:"
                                     " start the reader first)" : "");
        return false;
    }
    ok = copy_source(src, fd, cancel_fd, filename, err);
    /* A copy cut short (the guest changed its page tables, a DIMM went
     * away) leaves an empty file rather than a misleading partial one. */
    if (!ok && ftruncate(fd, 0) < 0) {
        /* A pipe or a device: there is nothing to empty. */
    }
    if (close(fd) < 0 && ok) {
        g_set_error(err, HM_ERROR, HM_ERROR_IO, "cannot write '%s': %s",
                    filename, g_strerror(errno));
        ok = false;
    }
    return ok;
}

/* ---- one save, on its own thread ------------------------------------- */

struct save_job {
    struct machine *m;
    struct source src;
    char *filename;
    int cancel_fd;              /* eventfd: written to cancel */
    GThread *thread;
    GSource *finish;            /* attached by the thread when it ends */
    GError *err;
    machine_done_fn done;
    void *opaque;
};

static void job_free(struct save_job *job)
{
    if (job->cancel_fd >= 0)
        close(job->cancel_fd);
    g_free(job->filename);
    g_free(job);
}

/* Main context: the thread has ended; report and forget the job. */
static gboolean job_finish(gpointer data)
{
    struct save_job *job = data;

    g_thread_join(job->thread);
    g_source_unref(job->finish);
    g_ptr_array_remove(job->m->saves, job);
    job->done(job->opaque, job->err);
    job_free(job);
    return G_SOURCE_REMOVE;
}

static gpointer job_thread(gpointer data)
{
    struct save_job *job = data;
    GSource *src = g_idle_source_new();

    save_source(&job->src, job->filename, job->cancel_fd, &job->err);
    g_source_set_callback(src, job_finish, job, NULL);
    job->finish = src;
    g_source_attach(src, g_main_context_default());
    return NULL;
}

static void start_save(struct machine *m, struct source *src,
                       const char *filename, machine_done_fn done,
                       void *opaque)
{
    struct save_job *job = g_new0(struct save_job, 1);
    GError *err = NULL;

    *job = (struct save_job){ .m = m, .src = *src,
                              .filename = g_strdup(filename),
                              .done = done, .opaque = opaque };
    job->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (job->cancel_fd < 0) {
        g_set_error(&err, HM_ERROR, HM_ERROR_IO, "cannot save to '%s': "
                    "eventfd: %s", filename, g_strerror(errno));
        job_free(job);
        done(opaque, err);
        return;
    }
    job->thread = g_thread_try_new("hm-memsave", job_thread, job, &err);
    if (!job->thread) {
        g_prefix_error(&err, "cannot save to '%s': ", filename);
        job_free(job);
        done(opaque, err);
        return;
    }
    if (!m->saves)
        m->saves = g_ptr_array_new();
    g_ptr_array_add(m->saves, job);
}

void machine_inspect_cancel_all(struct machine *m)
{
    uint64_t one = 1;

    while (m->saves && m->saves->len) {
        struct save_job *job = g_ptr_array_steal_index(m->saves, 0);

        if (write(job->cancel_fd, &one, sizeof(one)) < 0) {
            /* An eventfd write only fails on overflow: already signalled */
        }
        g_thread_join(job->thread);
        g_source_destroy(job->finish);
        g_source_unref(job->finish);
        job->done(job->opaque, job->err);
        job_free(job);
    }
    if (m->saves)
        g_ptr_array_free(m->saves, TRUE);
    m->saves = NULL;
}

void machine_pmemsave(struct machine *m, uint64_t addr, uint64_t size,
                      const char *filename, machine_done_fn done,
                      void *opaque)
{
    struct source src = { .m = m, .addr = addr, .size = size,
                          .resolve = resolve_phys };

    start_save(m, &src, filename, done, opaque);
}

void machine_memsave(struct machine *m, uint64_t addr, uint64_t size,
                     unsigned cpu, const char *filename, machine_done_fn done,
                     void *opaque)
{
    struct source src = { .m = m, .addr = addr, .size = size,
                          .resolve = resolve_virt, .cpu = cpu };
    GError *err = NULL;

    if (!machine_vcpu_paging_regs(m, cpu, &src.regs, &err)) {
        done(opaque, err);
        return;
    }
    start_save(m, &src, filename, done, opaque);
}
