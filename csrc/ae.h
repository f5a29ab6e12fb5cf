/* ae.h — a small epoll event loop: file events and one periodic timer list.
 * Single-threaded; callbacks run on the loop's thread. */
#ifndef MDB_AE_H
#define MDB_AE_H

#define AE_NONE     0
#define AE_READABLE 1
#define AE_WRITABLE 2

typedef struct ae_loop ae_loop;
typedef void ae_file_proc(ae_loop *loop, int fd, void *data, int mask);
/* Returns milliseconds until the next call, or -1 to remove the timer. */
typedef long long ae_time_proc(ae_loop *loop, long long id, void *data);
typedef void ae_before_sleep_proc(ae_loop *loop);

ae_loop *ae_create(int setsize);          /* max fds (maxclients + reserve) */
void ae_free(ae_loop *loop);
int ae_setsize(ae_loop *loop);
int ae_add(ae_loop *loop, int fd, int mask, ae_file_proc *proc, void *data); /* 0 ok, -1 err */
void ae_del(ae_loop *loop, int fd, int mask);
int ae_get_mask(ae_loop *loop, int fd);
long long ae_add_timer(ae_loop *loop, long long ms, ae_time_proc *proc, void *data);
void ae_del_timer(ae_loop *loop, long long id);   /* no-op for an id not pending */
void ae_set_before_sleep(ae_loop *loop, ae_before_sleep_proc *proc);
void ae_stop(ae_loop *loop);
void ae_main(ae_loop *loop);              /* runs until ae_stop() */
int ae_process_events(ae_loop *loop, int timeout_ms); /* one iteration; returns events handled */

#endif
