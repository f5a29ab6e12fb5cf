"""logd — the three-AZ transaction log: a passive, durable, epoch-fenced log
store on LMDB (one daemon per availability zone) and the quorum client that
turns three of them into one log where a majority ack means committed.

Module map (one place for each thing):
  wire.py     versioned binary wire format (encode/decode, limits, CRCs)
  crc.py      CRC-32C: the C extension, or a slow pure-Python fallback
  service.py  the logd rules (fencing, conflicts, membership) over a store
  storage.py  the LMDB store (the only module importing lmdb) + a memory store
  server.py   the daemon: ZeroMQ ROUTER shell with group commit
  quorum.py   pure quorum-append / seal-and-recover state machine
  client.py   thin ZeroMQ shell driving quorum.py
  sim.py      seeded simulator of network, logd crashes and competing writers
See docs/log-protocol.md.
"""

PROTOCOL_VERSION = 3     # 2: LogState carries lease_epoch, lease_seq
                         # 3: REPLY carries prev_running (READ: running of from_seq-1)
