#!/bin/sh
# net_bench.sh PID PORT [redis-benchmark args...] — runs redis-benchmark
# against PORT and prints the server's CPU microseconds per request
# (utime+stime of PID), which is fairer than ops/s on a 2-core box where
# the benchmark client competes with the server.
PID=$1; PORT=$2; shift 2
cpu() { awk '{print $14 + $15}' /proc/$PID/stat; }
HZ=$(getconf CLK_TCK)
c0=$(cpu)
OUT=$(redis-benchmark -p "$PORT" "$@" -q 2>&1 | tr '\r' '\n' | grep "requests per second")
c1=$(cpu)
echo "$OUT"
N=0; for a in "$@"; do if [ "$prev" = "-n" ]; then N=$a; fi; prev=$a; done
T=$(echo "$OUT" | wc -l)
echo "server cpu: $(( (c1 - c0) * 1000000 / HZ )) us total, $(awk -v c=$((c1-c0)) -v hz=$HZ -v n=$N -v t=$T 'BEGIN{printf "%.3f", c/hz*1e6/(n*t)}') us/request"
