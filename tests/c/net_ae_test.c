/* net_ae_test.c — unit test of ae.c: file events, masks, timers,
 * before-sleep, setsize bound.
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Icsrc tests/c/net_ae_test.c csrc/ae.c -o /tmp/net_ae_test */
#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "ae.h"

static int reads, writes, timer_calls, sleeps;

static void on_read(ae_loop *l, int fd, void *data, int mask)
{
    (void)l; (void)data;
    assert(mask == AE_READABLE);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    assert(n > 0);
    reads++;
}

static void on_write(ae_loop *l, int fd, void *data, int mask)
{
    (void)data;
    assert(mask == AE_WRITABLE);
    writes++;
    ae_del(l, fd, AE_WRITABLE);     /* level-triggered: must remove itself */
}

static long long on_timer(ae_loop *l, long long id, void *data)
{
    (void)id;
    int *left = data;
    timer_calls++;
    if (--*left == 0) {
        ae_stop(l);
        return -1;
    }
    return 5;
}

static void before(ae_loop *l) { (void)l; sleeps++; }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(void)
{
    ae_loop *l = ae_create(64);
    assert(l && ae_setsize(l) == 64);
    int p[2];
    assert(pipe(p) == 0);

    /* Readable: fires only when data is there, once per iteration. */
    assert(ae_add(l, p[0], AE_READABLE, on_read, NULL) == 0);
    assert(ae_get_mask(l, p[0]) == AE_READABLE);
    ae_process_events(l, 0);
    assert(reads == 0);
    assert(write(p[1], "x", 1) == 1);
    ae_process_events(l, 100);
    assert(reads == 1);

    /* Writable on the write end: fires, handler removes itself. */
    assert(ae_add(l, p[1], AE_WRITABLE, on_write, NULL) == 0);
    ae_process_events(l, 100);
    ae_process_events(l, 0);
    assert(writes == 1 && ae_get_mask(l, p[1]) == AE_NONE);

    /* Both masks on one fd, then remove one. */
    assert(ae_add(l, p[0], AE_WRITABLE, on_write, NULL) == 0);
    assert(ae_get_mask(l, p[0]) == (AE_READABLE | AE_WRITABLE));
    ae_del(l, p[0], AE_WRITABLE);
    assert(ae_get_mask(l, p[0]) == AE_READABLE);
    ae_del(l, p[0], AE_READABLE);
    assert(ae_get_mask(l, p[0]) == AE_NONE);

    /* An fd beyond setsize is refused, not a crash. */
    assert(ae_add(l, 64, AE_READABLE, on_read, NULL) == -1 && errno == ERANGE);
    assert(ae_get_mask(l, 1000) == AE_NONE);
    ae_del(l, 1000, AE_READABLE);

    /* Timers: fires every 5 ms three times, then ae_main returns. */
    int left = 3;
    ae_set_before_sleep(l, before);
    long long t0 = now_ms();
    assert(ae_add_timer(l, 5, on_timer, &left) > 0);
    ae_main(l);
    long long dt = now_ms() - t0;
    assert(timer_calls == 3 && left == 0);
    assert(dt >= 10 && dt < 1000);
    assert(sleeps >= 3);

    close(p[0]);
    close(p[1]);
    ae_free(l);
    printf("net_ae_test: ok\n");
    return 0;
}
