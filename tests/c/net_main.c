/* net_main.c — a minimal server executable for the network tests:
 *   net_server PORT [maxclients] [timeout] [durability(0|1)]
 * With durability 1 a stand-in "log" parks every reply and releases them in
 * order from a 1 ms timer, exercising the durable path's hooks
 * (reply_ready, client_release_upto, client_freeing) the way the reply
 * tracker will. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include "server.h"

#define FAKE_LOG_MAX (1 << 20)

typedef struct parked { uint64_t id; unsigned long long end; } parked;
static parked *fifo;
static size_t head, count;

static long long fake_commit(ae_loop *l, long long id, void *data);
static int timer_installed;

static void fake_reply_ready(client *c)
{
    if (!timer_installed) {              /* the loop exists only inside server_run() */
        timer_installed = ae_add_timer(server.loop, 1, fake_commit, NULL) > 0;
        assert(timer_installed);
    }
    if (count == FAKE_LOG_MAX) {         /* full: release at once, still in order */
        client_mark_released(c);
        return;
    }
    fifo[(head + count++) % FAKE_LOG_MAX] = (parked){ c->id, client_reply_offset(c) };
}

static void fake_client_freeing(client *c) { (void)c; /* entries are looked up by id */ }

static long long fake_commit(ae_loop *l, long long id, void *data)
{
    (void)l; (void)id; (void)data;
    for (; count > 0; count--, head = (head + 1) % FAKE_LOG_MAX) {
        parked *p = &fifo[head];
        client *c = client_by_id(p->id);
        if (c)
            client_release_upto(c, p->end);
    }
    return 1;
}

int main(int argc, char **argv)
{
    server_config cfg;
    server_config_default(&cfg);
    cfg.port = argc > 1 ? atoi(argv[1]) : 6379;
    if (argc > 2) cfg.maxclients = atoi(argv[2]);
    if (argc > 3) cfg.timeout = atoi(argv[3]);
    if (argc > 4) cfg.durability = atoi(argv[4]);
    if (cfg.durability == DURABILITY_LOG) {
        fifo = calloc(FAKE_LOG_MAX, sizeof(*fifo));
        assert(fifo);
        server.reply_ready = fake_reply_ready;
        server.client_freeing = fake_client_freeing;
    }
    return server_run(&cfg) == 0 ? 0 : 1;
}
