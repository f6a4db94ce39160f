/*
 * The CPU throttle's timer thread (vcpu_throttle.h). It sleeps while the
 * percentage is 0; otherwise, once per period of SLICE * 100 / (100 - P),
 * it kicks the vCPUs with a sleep of the period less the slice. A new
 * percentage wakes it, so it applies from the next period.
 */
#include "boot/vcpu_throttle.h"

struct vcpu_throttle {
    struct vcpus *vcpus;
    GThread *thread;
    GMutex lock;
    GCond cond;
    unsigned percent;       /* under lock */
    bool quit;
};

static void *throttle_thread(void *opaque)
{
    struct vcpu_throttle *t = opaque;

    g_mutex_lock(&t->lock);
    while (!t->quit) {
        unsigned p = t->percent;
        uint64_t period, sleep_us;

        if (!p) {
            g_cond_wait(&t->cond, &t->lock);
            continue;
        }
        period = (uint64_t)VCPU_THROTTLE_SLICE_US * 100 / (100 - p);
        sleep_us = period - VCPU_THROTTLE_SLICE_US;
        /* Under the lock: a later "off" wakes what this kick put to sleep. */
        vcpus_throttle_kick(t->vcpus, (unsigned)sleep_us);
        /* A change of percentage (or quit) ends the wait early. */
        if (t->percent == p && !t->quit)
            g_cond_wait_until(&t->cond, &t->lock,
                              g_get_monotonic_time() + (gint64)period);
    }
    g_mutex_unlock(&t->lock);
    return NULL;
}

struct vcpu_throttle *vcpu_throttle_new(struct vcpus *v)
{
    struct vcpu_throttle *t = g_new0(struct vcpu_throttle, 1);

    t->vcpus = v;
    g_mutex_init(&t->lock);
    g_cond_init(&t->cond);
    t->thread = g_thread_new("cpu-throttle", throttle_thread, t);
    return t;
}

void vcpu_throttle_free(struct vcpu_throttle *t)
{
    if (!t)
        return;
    g_mutex_lock(&t->lock);
    t->quit = true;
    g_cond_signal(&t->cond);
    g_mutex_unlock(&t->lock);
    g_thread_join(t->thread);
    vcpus_throttle_kick(t->vcpus, 0);
    g_mutex_clear(&t->lock);
    g_cond_clear(&t->cond);
    g_free(t);
}

void vcpu_throttle_set(struct vcpu_throttle *t, unsigned percent)
{
    g_mutex_lock(&t->lock);
    t->percent = MIN(percent, VCPU_THROTTLE_MAX);
    g_cond_signal(&t->cond);
    g_mutex_unlock(&t->lock);
    /* Off: the vCPUs asleep from the last period run at once. */
    if (!percent)
        vcpus_throttle_kick(t->vcpus, 0);
}
