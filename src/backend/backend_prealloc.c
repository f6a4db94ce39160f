/*
 * Preallocation: fault in every page of a backend before the guest needs
 * it, on several threads. Each thread owns a page-aligned chunk and walks
 * it in steps of PREALLOC_STEP, so progress can be reported and an error
 * or a cancel stops everyone within one step.
 *
 * Pages are faulted with madvise(MADV_POPULATE_WRITE) (Linux 5.14+): one
 * system call per step, and a page that cannot be provided (hugetlb pool
 * exhausted, a hole in a file) is an error return instead of SIGBUS. On
 * older kernels madvise() fails with EINVAL and we touch one byte per page,
 * writing back the byte just read so file contents survive. That fallback
 * gets SIGBUS where MADV_POPULATE_WRITE would return an error; hotmem
 * installs no handler for it, so on such kernels an exhausted hugetlb pool
 * kills the process, as it would kill the guest later.
 */
#include <errno.h>
#include <sys/mman.h>

#include "backend/backend_internal.h"
#include "errors.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Work between two looks at progress and cancellation (a few ms). */
#define PREALLOC_STEP           (64ULL << 20)
/* A transparent huge page on x86-64: chunks are made of whole ones. */
#define PREALLOC_HUGE_UNIT      (2ULL << 20)
/* How often a waiting caller reports progress. */
#define PROGRESS_INTERVAL_US    (50 * 1000)

static atomic_int prealloc_method = BACKEND_PREALLOC_AUTO;

struct prealloc_job {
    struct backend *b;
    uint8_t *base;
    uint64_t size, page, step;
    bool write;                 /* MADV_POPULATE_WRITE, else _READ */
    atomic_uint_fast64_t done;  /* bytes populated, all threads */
    atomic_bool stop;           /* an error happened: everyone stops */
    atomic_bool touch;          /* madvise() cannot populate: touch pages */
    GMutex lock;
    GCond cond;
    unsigned running;           /* worker threads still working (lock) */
    int error;                  /* first errno, 0 if none (lock) */
    uint64_t error_offset;      /* where it happened (lock) */
    backend_progress_fn progress;
    void *opaque;
};

struct prealloc_chunk {
    struct prealloc_job *job;
    uint64_t start, len;
    GThread *thread;
};

void backend_prealloc_set_method(enum backend_prealloc_method method)
{
    atomic_store(&prealloc_method, method);
}

void backend_prealloc_cancel(struct backend *b)
{
    atomic_store(&b->prealloc_cancel, true);
}

/* One access per page; the byte written is the byte read. */
static void touch_pages(uint8_t *p, uint64_t len, uint64_t page, bool write)
{
    for (uint64_t off = 0; off < len; off += page) {
        volatile uint8_t *q = p + off;
        uint8_t v = *q;

        if (write)
            *q = v;
    }
}

/* Returns 0 or the errno that stopped it. */
static int populate(struct prealloc_job *job, uint8_t *p, uint64_t len)
{
    int advice = job->write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
    int rc;

    if (!atomic_load(&job->touch)) {
        do {
            rc = madvise(p, len, advice);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0)
            return 0;
        if (errno != EINVAL)
            return errno;
        /* EINVAL: this kernel has no MADV_POPULATE_* (before 5.14). */
        atomic_store(&job->touch, true);
    }
    touch_pages(p, len, job->page, job->write);
    return 0;
}

static bool should_stop(struct prealloc_job *job)
{
    return atomic_load(&job->stop) || atomic_load(&job->b->prealloc_cancel);
}

static void record_error(struct prealloc_job *job, int error, uint64_t offset)
{
    g_mutex_lock(&job->lock);
    if (!job->error) {
        job->error = error;
        job->error_offset = offset;
    }
    g_mutex_unlock(&job->lock);
    atomic_store(&job->stop, true);
}

/* Progress before the end; the end itself is reported once, by the caller. */
static void report_progress(struct prealloc_job *job)
{
    uint64_t done = atomic_load(&job->done);

    if (job->progress && done < job->size)
        job->progress(job->opaque, done, job->size);
}

static void run_chunk(struct prealloc_chunk *c, bool report)
{
    struct prealloc_job *job = c->job;

    for (uint64_t off = 0; off < c->len; off += job->step) {
        uint64_t n = MIN(job->step, c->len - off);
        int rc;

        if (should_stop(job))
            return;
        rc = populate(job, job->base + c->start + off, n);
        if (rc) {
            record_error(job, rc, c->start + off);
            return;
        }
        atomic_fetch_add(&job->done, n);
        if (report)
            report_progress(job);
    }
}

static gpointer worker_thread(gpointer data)
{
    struct prealloc_chunk *c = data;
    struct prealloc_job *job = c->job;

    run_chunk(c, false);
    g_mutex_lock(&job->lock);
    job->running--;
    g_cond_signal(&job->cond);
    g_mutex_unlock(&job->lock);
    return NULL;
}

/*
 * Splits the backend into one chunk per thread. Chunks are whole 2 MiB
 * units where the backend has any (its mapping starts on a 2 MiB boundary,
 * backend.c), so no transparent huge page is faulted by two threads at once
 * or split between them; else whole pages.
 */
static struct prealloc_chunk *split_chunks(struct prealloc_job *job,
                                           unsigned threads, unsigned *count)
{
    uint64_t unit = MAX(job->page, job->size >= PREALLOC_HUGE_UNIT
                                   ? PREALLOC_HUGE_UNIT : job->page);
    uint64_t units = (job->size + unit - 1) / unit;
    uint64_t per = (units + threads - 1) / threads * unit;
    unsigned n = (job->size + per - 1) / per;
    struct prealloc_chunk *chunks = g_new0(struct prealloc_chunk, n);

    for (unsigned i = 0; i < n; i++) {
        chunks[i].job = job;
        chunks[i].start = i * per;
        chunks[i].len = MIN(per, job->size - chunks[i].start);
    }
    *count = n;
    return chunks;
}

/*
 * The calling thread does the first chunk itself (reporting progress as it
 * goes), runs any chunk whose thread could not be created, then reports
 * progress while it waits for the others.
 */
static void run_job(struct prealloc_job *job, unsigned threads)
{
    unsigned n;
    struct prealloc_chunk *chunks = split_chunks(job, threads, &n);

    for (unsigned i = 1; i < n; i++) {
        g_mutex_lock(&job->lock);
        job->running++;
        g_mutex_unlock(&job->lock);
        chunks[i].thread = g_thread_try_new("hm-prealloc", worker_thread,
                                            &chunks[i], NULL);
        if (!chunks[i].thread) {
            g_mutex_lock(&job->lock);
            job->running--;
            g_mutex_unlock(&job->lock);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (!chunks[i].thread)
            run_chunk(&chunks[i], true);
    }
    g_mutex_lock(&job->lock);
    while (job->running) {
        g_cond_wait_until(&job->cond, &job->lock,
                          g_get_monotonic_time() + PROGRESS_INTERVAL_US);
        g_mutex_unlock(&job->lock);
        report_progress(job);
        g_mutex_lock(&job->lock);
    }
    g_mutex_unlock(&job->lock);
    for (unsigned i = 0; i < n; i++) {
        if (chunks[i].thread)
            g_thread_join(chunks[i].thread);
    }
    g_free(chunks);
}

static bool job_result(struct prealloc_job *job, GError **err)
{
    struct backend *b = job->b;
    const char *hint = "";

    if (job->error) {
        if (b->hugetlb && (job->error == ENOMEM || job->error == EFAULT))
            hint = " (too few free huge pages? see /proc/sys/vm/nr_hugepages)";
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "preallocation of 0x%" PRIx64 " bytes for %s '%s' failed "
                    "at offset 0x%" PRIx64 ": %s%s", job->size,
                    backend_type(b), backend_id(b), job->error_offset,
                    g_strerror(job->error), hint);
        return false;
    }
    if (atomic_load(&b->prealloc_cancel)) {
        g_set_error(err, HM_ERROR, HM_ERROR_FAILED,
                    "preallocation of %s '%s' was cancelled after 0x%" PRIx64
                    " of 0x%" PRIx64 " bytes", backend_type(b), backend_id(b),
                    (uint64_t)atomic_load(&job->done), job->size);
        return false;
    }
    if (job->progress)
        job->progress(job->opaque, job->size, job->size);
    return true;
}

/* The whole preallocation, on the calling thread and its helpers. */
static bool prealloc_run(struct backend *b, backend_progress_fn progress,
                         void *opaque, GError **err)
{
    struct prealloc_job job = {
        .b = b,
        .base = backend_host_addr(b),
        .size = backend_size(b),
        .page = backend_page_size(b),
        .write = !b->cfg.readonly,
        .progress = progress,
        .opaque = opaque,
    };
    uint64_t pages = job.size / job.page;
    unsigned threads = MIN((uint64_t)backend_prealloc_threads(b), pages);
    bool ok;

    if (!backend_check_room(b, "", err))
        return false;
    job.step = MAX(PREALLOC_STEP / job.page, 1) * job.page;
    atomic_store(&job.touch,
                 atomic_load(&prealloc_method) == BACKEND_PREALLOC_TOUCH);
    g_mutex_init(&job.lock);
    g_cond_init(&job.cond);
    run_job(&job, MAX(threads, 1u));
    ok = job_result(&job, err);
    g_cond_clear(&job.cond);
    g_mutex_clear(&job.lock);
    return ok;
}

bool backend_prealloc(struct backend *b, backend_progress_fn progress,
                      void *opaque, GError **err)
{
    bool ok;

    atomic_store(&b->prealloc_cancel, false);
    atomic_store(&b->prealloc_running, true);
    ok = prealloc_run(b, progress, opaque, err);
    atomic_store(&b->prealloc_running, false);
    return ok;
}

struct prealloc_async {
    struct backend *b;
    backend_done_fn done;
    void *opaque;
    GError *err;
    GThread *thread;
};

/* On the main context: the coordinator has finished (or never started). */
static gboolean async_finish(gpointer data)
{
    struct prealloc_async *a = data;

    if (a->thread)
        g_thread_join(a->thread);
    atomic_store(&a->b->prealloc_running, false);
    a->done(a->opaque, a->b, a->err);
    g_free(a);
    return G_SOURCE_REMOVE;
}

/*
 * An idle source rather than g_main_context_invoke(): invoke would run
 * async_finish right here, on this thread, whenever the default context
 * happens to be unowned at this instant.
 */
static void schedule_finish(struct prealloc_async *a)
{
    GSource *src = g_idle_source_new();

    g_source_set_callback(src, async_finish, a, NULL);
    g_source_attach(src, g_main_context_default());
    g_source_unref(src);
}

static gpointer async_thread(gpointer data)
{
    struct prealloc_async *a = data;

    prealloc_run(a->b, NULL, NULL, &a->err);
    schedule_finish(a);
    return NULL;
}

void backend_prealloc_async(struct backend *b, backend_done_fn done,
                            void *opaque)
{
    struct prealloc_async *a = g_new0(struct prealloc_async, 1);
    GError *err = NULL;

    a->b = b;
    a->done = done;
    a->opaque = opaque;
    atomic_store(&b->prealloc_cancel, false);
    atomic_store(&b->prealloc_running, true);
    a->thread = g_thread_try_new("hm-prealloc-co", async_thread, a, &err);
    if (!a->thread) {
        g_set_error(&a->err, HM_ERROR, HM_ERROR_FAILED,
                    "cannot start preallocating %s '%s': %s", backend_type(b),
                    backend_id(b), err->message);
        g_error_free(err);
        schedule_finish(a);
    }
}
