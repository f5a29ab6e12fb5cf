/* net_main.c — a minimal server executable for the network tests:
 *   net_server PORT [maxclients] [timeout] [durability(0|1)]   */
#include <stdio.h>
#include <stdlib.h>
#include "server.h"

int main(int argc, char **argv)
{
    server_config cfg;
    server_config_default(&cfg);
    cfg.port = argc > 1 ? atoi(argv[1]) : 6379;
    if (argc > 2) cfg.maxclients = atoi(argv[2]);
    if (argc > 3) cfg.timeout = atoi(argv[3]);
    if (argc > 4) cfg.durability = atoi(argv[4]);
    return server_run(&cfg) == 0 ? 0 : 1;
}
