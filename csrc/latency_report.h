/* latency_report.h — LATENCY GRAPH and LATENCY DOCTOR's texts, built from
 * the latency monitor's store (latency_monitor.h) exactly as Redis 7.0
 * words and draws them. Pure: the time and the settings the doctor's
 * advice depends on are arguments.
 *
 * GRAPH: a header line, a rule of LATENCY_GRAPH_COLS dashes, then the
 * samples oldest first, one column each, LATENCY_GRAPH_COLS columns to a
 * block (blocks separated by an empty line): LATENCY_GRAPH_ROWS rows of
 * bars scaled between the lowest and the highest sample ('_', 'o', '#' a
 * third of a row each, '|' below a full one), an empty row, then each
 * sample's age ("12s", "3m", "5h", "2d") written downwards.
 */
#ifndef MDB_LATENCY_REPORT_H
#define MDB_LATENCY_REPORT_H

#include "latency_monitor.h"
#include "sds.h"

#define LATENCY_GRAPH_COLS 80
#define LATENCY_GRAPH_ROWS 4

/* Appends the graph of e (which has samples) to out. */
sds latency_report_graph(sds out, const latency_event *e, long long now_s);

/* Appends the doctor's report to out. slowlog_slower_than_us < 0: the slow
 * log is off. */
sds latency_report_doctor(sds out, const latency_monitor *m, long long now_s,
                          long long threshold_ms, long long slowlog_slower_than_us);

#endif
