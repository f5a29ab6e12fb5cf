/* ae.c — the event loop: level-triggered epoll over an fd-indexed table,
 * a handful of timers, and a before-sleep hook.
 *
 * The fd table is sized once (setsize); an fd beyond it is refused rather
 * than grown, so the loop never reallocates while callbacks hold pointers.
 * Timers are few (the cron, maybe a lease tick), so they live in a small
 * fixed array scanned linearly: simpler than a heap and just as fast here.
 */
#define _GNU_SOURCE
#include "ae.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#define AE_MAX_TIMERS 16
#define AE_MAX_EVENTS_PER_POLL 1024   /* epoll_wait batch; bounds one iteration */

typedef struct ae_file_event {
    int mask;                   /* AE_READABLE | AE_WRITABLE */
    ae_file_proc *rproc;
    ae_file_proc *wproc;
    void *data;
} ae_file_event;

typedef struct ae_timer {
    long long id;               /* 0: free slot */
    long long when_ms;          /* monotonic */
    ae_time_proc *proc;
    void *data;
} ae_timer;

struct ae_loop {
    int epfd;
    int setsize;
    int stop;
    ae_file_event *events;      /* [setsize], indexed by fd */
    struct epoll_event *fired;  /* [nfired_cap] */
    int nfired_cap;
    ae_timer timers[AE_MAX_TIMERS];
    long long next_timer_id;
    ae_before_sleep_proc *before_sleep;
};

static long long ae_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ae_loop *ae_create(int setsize)
{
    if (setsize <= 0)
        return NULL;
    ae_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->setsize = setsize;
    l->nfired_cap = setsize < AE_MAX_EVENTS_PER_POLL ? setsize : AE_MAX_EVENTS_PER_POLL;
    l->events = calloc((size_t)setsize, sizeof(*l->events));
    l->fired = calloc((size_t)l->nfired_cap, sizeof(*l->fired));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->next_timer_id = 1;
    if (!l->events || !l->fired || l->epfd < 0) {
        ae_free(l);
        return NULL;
    }
    return l;
}

void ae_free(ae_loop *l)
{
    if (!l)
        return;
    if (l->epfd >= 0)
        close(l->epfd);
    free(l->events);
    free(l->fired);
    free(l);
}

int ae_setsize(ae_loop *l) { return l->setsize; }

static uint32_t ae_epoll_bits(int mask)
{
    uint32_t ev = 0;
    if (mask & AE_READABLE)
        ev |= EPOLLIN;
    if (mask & AE_WRITABLE)
        ev |= EPOLLOUT;
    return ev;
}

int ae_add(ae_loop *l, int fd, int mask, ae_file_proc *proc, void *data)
{
    if (fd < 0 || fd >= l->setsize) {
        errno = ERANGE;
        return -1;
    }
    ae_file_event *fe = &l->events[fd];
    int newmask = fe->mask | mask;
    if (newmask != fe->mask) {
        struct epoll_event ee = {0};
        ee.events = ae_epoll_bits(newmask);
        ee.data.fd = fd;
        int op = fe->mask == AE_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(l->epfd, op, fd, &ee) == -1)
            return -1;
    }
    fe->mask = newmask;
    if (mask & AE_READABLE)
        fe->rproc = proc;
    if (mask & AE_WRITABLE)
        fe->wproc = proc;
    fe->data = data;
    return 0;
}

void ae_del(ae_loop *l, int fd, int mask)
{
    if (fd < 0 || fd >= l->setsize)
        return;
    ae_file_event *fe = &l->events[fd];
    if (fe->mask == AE_NONE)
        return;
    int newmask = fe->mask & ~mask;
    if (newmask == fe->mask)
        return;
    struct epoll_event ee = {0};
    ee.events = ae_epoll_bits(newmask);
    ee.data.fd = fd;
    /* Failure here means the fd is already gone from epoll (closed); the
     * table entry is what matters to us. */
    (void)epoll_ctl(l->epfd, newmask == AE_NONE ? EPOLL_CTL_DEL : EPOLL_CTL_MOD, fd, &ee);
    fe->mask = newmask;
    if (newmask == AE_NONE)
        fe->data = NULL;
}

int ae_get_mask(ae_loop *l, int fd)
{
    if (fd < 0 || fd >= l->setsize)
        return AE_NONE;
    return l->events[fd].mask;
}

long long ae_add_timer(ae_loop *l, long long ms, ae_time_proc *proc, void *data)
{
    for (int i = 0; i < AE_MAX_TIMERS; i++) {
        ae_timer *t = &l->timers[i];
        if (t->id != 0)
            continue;
        t->id = l->next_timer_id++;
        t->when_ms = ae_monotonic_ms() + (ms > 0 ? ms : 0);
        t->proc = proc;
        t->data = data;
        return t->id;
    }
    return -1;   /* table full: a programming error, reported not crashed */
}

void ae_del_timer(ae_loop *l, long long id)
{
    for (int i = 0; i < AE_MAX_TIMERS && id > 0; i++)
        if (l->timers[i].id == id)
            l->timers[i].id = 0;
}

void ae_set_before_sleep(ae_loop *l, ae_before_sleep_proc *proc) { l->before_sleep = proc; }

void ae_stop(ae_loop *l) { l->stop = 1; }

/* Milliseconds until the earliest timer, capped by limit_ms (-1 = none). */
static int ae_wait_ms(ae_loop *l, int limit_ms)
{
    long long now = ae_monotonic_ms();
    long long best = -1;
    for (int i = 0; i < AE_MAX_TIMERS; i++) {
        if (l->timers[i].id == 0)
            continue;
        long long d = l->timers[i].when_ms - now;
        if (d < 0)
            d = 0;
        if (best < 0 || d < best)
            best = d;
    }
    if (limit_ms >= 0 && (best < 0 || best > limit_ms))
        best = limit_ms;
    if (best > 1000000)
        best = 1000000;
    return (int)best;
}

static int ae_run_timers(ae_loop *l)
{
    int ran = 0;
    long long now = ae_monotonic_ms();
    /* Each slot is looked at once per pass, so a timer that reschedules
     * itself to 0 ms cannot spin this loop. */
    for (int i = 0; i < AE_MAX_TIMERS; i++) {
        ae_timer *t = &l->timers[i];
        if (t->id == 0 || t->when_ms > now)
            continue;
        long long id = t->id;
        long long next = t->proc(l, id, t->data);
        ran++;
        if (t->id != id)
            continue;       /* the slot was reused by the callback */
        if (next < 0)
            t->id = 0;
        else
            t->when_ms = ae_monotonic_ms() + next;
    }
    return ran;
}

static void ae_dispatch(ae_loop *l, const struct epoll_event *e)
{
    int fd = e->data.fd;
    assert(fd >= 0 && fd < l->setsize);
    ae_file_event *fe = &l->events[fd];
    /* Errors and hangups are reported as both directions so the handler
     * that owns the fd sees them via read()/write() and cleans up. */
    int fired = 0;
    if (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        fired |= AE_READABLE;
    if (e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        fired |= AE_WRITABLE;
    if ((fired & AE_READABLE) && (fe->mask & AE_READABLE))
        fe->rproc(l, fd, fe->data, AE_READABLE);
    /* Re-check the mask: the read handler may have closed the fd. */
    if ((fired & AE_WRITABLE) && (fe->mask & AE_WRITABLE))
        fe->wproc(l, fd, fe->data, AE_WRITABLE);
}

int ae_process_events(ae_loop *l, int timeout_ms)
{
    if (l->before_sleep)
        l->before_sleep(l);
    if (l->stop)
        return 0;
    int wait = ae_wait_ms(l, timeout_ms);
    int n = epoll_wait(l->epfd, l->fired, l->nfired_cap, wait);
    int handled = 0;
    if (n > 0) {
        for (int i = 0; i < n; i++)
            ae_dispatch(l, &l->fired[i]);
        handled = n;
    }
    /* n < 0 with EINTR: a signal arrived; the next before-sleep sees it. */
    handled += ae_run_timers(l);
    return handled;
}

void ae_main(ae_loop *l)
{
    l->stop = 0;
    while (!l->stop)
        ae_process_events(l, -1);
}
