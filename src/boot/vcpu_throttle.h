/*
 * CPU throttling of a vCPU group (migration's auto-converge): every
 * period each vCPU is kicked out of KVM_RUN and sleeps a share of it, so
 * a guest that dirties memory faster than a migration can send it runs,
 * and dirties, less. At P percent a vCPU runs VCPU_THROTTLE_SLICE_US and
 * then sleeps SLICE * P / (100 - P), so it runs (100 - P)% of the time.
 */
#pragma once

#include "boot/vcpu.h"

#define VCPU_THROTTLE_SLICE_US  10000u
#define VCPU_THROTTLE_MAX       99u

struct vcpu_throttle;

/* A thread that kicks v's vCPUs while the percentage is not 0. */
struct vcpu_throttle *vcpu_throttle_new(struct vcpus *v);
/* Stops the thread; the vCPUs run unthrottled again. */
void vcpu_throttle_free(struct vcpu_throttle *t);
/* 0 (off) to VCPU_THROTTLE_MAX; more is taken as the maximum. */
void vcpu_throttle_set(struct vcpu_throttle *t, unsigned percent);
