#!/bin/sh
# Prints weak stub definitions for every command proc in commands.def, so a
# standalone test can link the dispatcher before all t_*.c / cmd_*.c exist.
# A real definition in a linked object overrides the stub.
echo '#include "mdb.h"'
grep '^MDB_CMD(' "${1:-csrc/commands.def}" | sed 's/^MDB_CMD("\([^"]*\)", *\([A-Za-z0-9_]*\),.*/\2/' | sort -u |
while read -r proc; do
    echo "__attribute__((weak)) void $proc(client *c) { reply_status(c, \"stub:$proc\"); }"
done
