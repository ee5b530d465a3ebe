#pragma once
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <linux/membarrier.h>

/* membarrier(MEMBARRIER_CMD_GLOBAL): returns after an RCU grace period (synchronize_rcu), so
 * every BPF program run that had started before the call (they run under rcu_read_lock or with
 * preemption off) has finished. Returns 0, or -1 with errno set (EINVAL with nohz_full). */
static inline int ken_synchronize_rcu(void)
{
	return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}

/* perf_event_open has no libc wrapper, and syscall(2) is variadic (Swift cannot call it).
 * Opens a software cpu-clock event on one CPU (any process) that overflows every
 * `period_ns` nanoseconds: what bpftrace's interval and profile probes attach to.
 * Returns the fd, or -1 with errno set. */
static inline int ken_perf_event_open_cpu_clock(int cpu, unsigned long long period_ns)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = period_ns;
    attr.freq = 0;
    return (int)syscall(__NR_perf_event_open, &attr, -1 /* any pid */, cpu, -1 /* no group */,
                        PERF_FLAG_FD_CLOEXEC);
}

/* epoll for ring-buffer readers: Swift cannot import the packed `struct epoll_event` of
 * x86-64, so these take and return the 64-bit token alone. */
#include <sys/epoll.h>

static inline int ken_epoll_add(int epfd, int fd, unsigned long long token)
{
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = EPOLLIN;
    event.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

static inline int ken_epoll_del(int epfd, int fd)
{
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

/* Waits like epoll_wait; writes up to `max` (at most 64) ready tokens. */
static inline int ken_epoll_wait(int epfd, unsigned long long *tokens, int max, int timeout_ms)
{
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int ready = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < ready; i++) tokens[i] = events[i].data.u64;
    return ready;
}
