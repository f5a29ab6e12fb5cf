/* net_rerun_test.c — server_run() as the Python extension uses it: on a
 * second thread, stopped by setting server.shutdown_asap, run twice in one
 * process; checks that it serves, returns 0, and leaks no fds.
 *   tests/c/net_build.sh /tmp/net_rerun tests/c/net_rerun_test.c && /tmp/net_rerun */
#undef NDEBUG
#include <assert.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "server.h"

static server_config cfg;
static int run_rc = -99;

static void *runner(void *arg)
{
    (void)arg;
    run_rc = server_run(&cfg);
    return NULL;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    assert(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void ping(int port)
{
    int fd = -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int tries = 0; tries < 200; tries++) {   /* the server starts asynchronously */
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        close(fd);
        fd = -1;
        usleep(10000);
    }
    assert(fd >= 0);
    const char req[] = "*1\r\n$4\r\nPING\r\nPING\r\n";
    assert(write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1);
    char buf[64] = {0};
    size_t got = 0;
    while (got < 14) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        assert(n > 0);
        got += (size_t)n;
    }
    assert(strcmp(buf, "+PONG\r\n+PONG\r\n") == 0);
    close(fd);          /* and one client left connected at shutdown: */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    usleep(50000);
    server.shutdown_asap = 1;
    close(fd);
}

int main(void)
{
    int fds0 = count_fds();
    for (int round = 0; round < 2; round++) {
        server_config_default(&cfg);
        cfg.port = free_port();
        pthread_t t;
        assert(pthread_create(&t, NULL, runner, NULL) == 0);
        ping(cfg.port);
        pthread_join(t, NULL);
        assert(run_rc == 0);
        assert(server.eng == NULL && server.loop == NULL && server.clients_head == NULL);
    }
    assert(count_fds() == fds0);
    /* A port in use is reported, not fatal. */
    int busy = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    assert(bind(busy, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(busy, 1) == 0);
    assert(getsockname(busy, (struct sockaddr *)&a, &l) == 0);
    server_config_default(&cfg);
    cfg.port = ntohs(a.sin_port);
    assert(server_run(&cfg) == -1);
    close(busy);
    assert(count_fds() == fds0);
    printf("net_rerun_test: ok\n");
    return 0;
}
