"""GEO commands (csrc/t_geo.c, csrc/geohash.c) against redis-server 7.0.

Every reply is compared byte for byte with redis-server's: fixed cases
(documentation examples, errors, RESP3 shapes, odd scores, the edges of the
map), then seeded random sequences of searches over random point sets
(uniform, clustered, near the poles and the antimeridian, on the exact
limits), with every option combination, random units and radii from a metre
to beyond the Earth's circumference. Replies without ASC/DESC are compared in
order too: the node walks the same cells in the same order as Redis.

Reproduce one seed:  MDB_GEO_SEED=<seed> pytest tests/test_geo.py -k random
Run longer:          MDB_GEO_SEEDS=100 MDB_GEO_COMMANDS=2000 pytest ...
"""
import math
import os
import random
import time

import pytest

from helpers import Pair, RawConn, decode_one, encode_command, fmt_args, wait_until

SEEDS = [int(os.environ["MDB_GEO_SEED"])] if "MDB_GEO_SEED" in os.environ \
    else list(range(int(os.environ.get("MDB_GEO_SEEDS", "16"))))
COMMANDS = int(os.environ.get("MDB_GEO_COMMANDS", "600"))
BATCH = 50
LAT_MAX = 85.05112878


@pytest.fixture
def pair(node, redis_server):
    p = Pair(RawConn(node.host, node.port), RawConn(redis_server.host, redis_server.port))
    p.check("FLUSHALL")
    try:
        yield p
    finally:
        p.node.close()
        p.ref.close()


SICILY = ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]


# ------------------------------------------------------------------ fixed cases

def test_documentation_examples(pair):
    assert pair.check(*SICILY) == b":2\r\n"
    pair.check("ZRANGE", "Sicily", "0", "-1", "WITHSCORES")
    assert pair.check("GEOPOS", "Sicily", "Palermo", "NonExisting", "Catania").startswith(
        b"*3\r\n*2\r\n$20\r\n13.36138933897018433\r\n")
    assert pair.check("GEODIST", "Sicily", "Palermo", "Catania") == b"$11\r\n166274.1516\r\n"
    for unit in ("m", "km", "mi", "ft", "KM", "Mi"):
        pair.check("GEODIST", "Sicily", "Palermo", "Catania", unit)
    pair.check("GEODIST", "Sicily", "Palermo", "Foo")
    assert pair.check("GEOHASH", "Sicily", "Palermo", "Catania") == \
        b"*2\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n"
    pair.check("GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")
    for opts in ([], ["WITHDIST"], ["WITHCOORD"], ["WITHHASH"], ["WITHCOORD", "WITHDIST", "WITHHASH"],
                 ["ASC"], ["DESC"], ["COUNT", "1"], ["COUNT", "2", "ANY"], ["COUNT", "3", "DESC"]):
        pair.check("GEORADIUS", "Sicily", "15", "37", "200", "km", *opts)
        pair.check("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", *opts)
        pair.check("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", *opts)
        pair.check("GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "200", "km", *opts)
        pair.check("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", *opts)
        pair.check("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", *opts)
        pair.check("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "300", "300", "mi", *opts)


def test_stores(pair):
    pair.check(*SICILY)
    pair.check("GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")
    pair.check("SET", "dst", "a string")          # overwritten whatever its type
    pair.check("EXPIRE", "dst", "1000")
    for cmd in (
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "COUNT", "3"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "STOREDIST"],
        ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Catania", "BYRADIUS", "100", "mi", "storedist", "desc"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"],
        ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst", "COUNT", "1"],
        ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "km", "STORE", "dst", "STOREDIST", "dst2"],
        ["GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Catania", "BYRADIUS", "100", "km"],  # dst == src
    ):
        pair.check(*cmd)
        for key in ("dst", "dst2", "Sicily"):
            pair.check("ZRANGE", key, "0", "-1", "WITHSCORES")
            pair.check("OBJECT", "ENCODING", key)
            pair.check("TTL", key)
    # Empty results delete the destination; a missing source too.
    pair.check("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m")
    pair.check("EXISTS", "dst")
    pair.check("GEOADD", "dst", "1", "1", "x")
    pair.check("GEORADIUS", "nokey", "0", "0", "1", "m", "STORE", "dst")
    pair.check("EXISTS", "dst")
    pair.check("GEORADIUSBYMEMBER", "nokey", "m", "x", "y", "STOREDIST", "dst")
    # Results past the listpack limits (129 members, or a member > 64 bytes).
    args = []
    for i in range(130):
        args += [str(10 + i * 0.001), str(20 + i * 0.0007), f"p{i}"]
    pair.check("GEOADD", "big", *args)
    pair.check("GEOADD", "big", "10.05", "20.05", "x" * 65)
    for count in ("128", "129", "200"):
        pair.check("GEOSEARCHSTORE", "dst", "big", "FROMLONLAT", "10", "20", "BYRADIUS", "100", "km", "COUNT", count)
        pair.check("OBJECT", "ENCODING", "dst")
        pair.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")


ERROR_CASES = [
    ["GEOADD", "k"], ["GEOADD", "k", "1", "1"], ["GEOPOS"], ["GEOHASH"], ["GEODIST", "k", "a"],
    ["GEOSEARCH", "k", "FROMLONLAT", "1", "1", "BYRADIUS"], ["GEOSEARCHSTORE", "d", "k", "FROMLONLAT", "1", "1", "BYRADIUS"],
    ["GEORADIUS", "k", "1", "1", "1"], ["GEORADIUSBYMEMBER", "k", "m", "1"],
    ["GEODIST", "Sicily", "a", "b", "c"], ["GEODIST", "Sicily", "a", "b", "km", "d"], ["GEODIST", "nokey", "a", "b", "zz"],
    ["GEOADD", "k", "200", "100", "x"], ["GEOADD", "k", "180.0000001", "0", "x"], ["GEOADD", "k", "0", "85.0511288", "x"],
    ["GEOADD", "k", "inf", "1", "a"], ["GEOADD", "k", "1", "-inf", "a"], ["GEOADD", "k", "1", "nan", "a"],
    ["GEOADD", "k", "x", "1", "a"], ["GEOADD", "k", "1", "", "a"], ["GEOADD", "k", " 1", "1", "a"],
    ["GEOADD", "k", "nx", "xx", "1", "1", "a"], ["GEOADD", "k", "ch", "ch", "ch"], ["GEOADD", "k", "1", "1", "a", "2"],
    ["GEOADD", "k", "gt", "1", "1", "a"], ["GEOADD", "k", "incr", "1", "1", "a"],
    ["GEOADD", "k", "1", "1", "a", "2", "200", "b"],                       # nothing added: the error is first
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "x", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "nan", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "-1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "kmm"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "zz", "BYBOX", "1", "1", "km"],
    ["GEOSEARCH", "Sicily", "BYBOX", "1", "1", "km", "asc"],
    ["geosearch", "Sicily", "FROMMEMBER", "Palermo", "asc", "count", "1"],
    ["GeoSearchStore", "d", "Sicily", "FROMMEMBER", "Palermo", "asc", "count", "1"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "any"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "count", "0"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "count", "-3"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "count", "x"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "count"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "store", "x"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "storedist"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "m"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYRADIUS", "2", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "x", "1", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "100", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "foo"],
    ["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "withdist"],
    ["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "storedist", "store", "x"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "store", "x", "withcoord"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "withhash", "storedist", "x"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "store"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "frommember", "Palermo"],
    ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "store", "x"],
    ["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "storedist", "x"],
    ["GEORADIUS", "Sicily", "x", "1", "1", "m"], ["GEORADIUS", "Sicily", "1", "1", "1", "parsec"],
    ["GEORADIUS", "Sicily", "1", "1", "-1", "m"], ["GEORADIUS", "Sicily", "181", "1", "1", "m"],
    ["GEORADIUSBYMEMBER", "nokey", "x", "abc", "xyz"], ["GEORADIUSBYMEMBER", "nokey", "x", "abc", "xyz", "foo"],
    ["GEORADIUSBYMEMBER", "Sicily", "x", "abc", "xyz"], ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "abc", "xyz"],
    ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "xyz"],
    ["GEORADIUS", "nokey", "x", "1", "1", "m"], ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m"],
    ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m", "withcoord", "any"],
    ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "x", "m"],
    ["GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "str", "FROMLONLAT", "1", "100", "BYRADIUS", "1", "km"],
    ["GEOSEARCHSTORE", "d", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
    ["GEOSEARCHSTORE", "str", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
    ["GEORADIUS", "str", "x", "1", "1", "m"], ["GEORADIUSBYMEMBER", "str", "x", "1", "m"],
    ["GEOADD", "str", "1", "1", "a"], ["GEOADD", "str", "1", "100", "a"],
    ["GEOPOS", "str", "a"], ["GEOHASH", "str", "a"], ["GEODIST", "str", "a", "b"], ["GEODIST", "str", "a", "b", "x"],
    ["GEOPOS", "Sicily"], ["GEOHASH", "Sicily"], ["GEOPOS", "nokey", "a", "b"], ["GEOHASH", "nokey", "a"],
    ["GEODIST", "nokey", "a", "b"], ["GEODIST", "Sicily", "Palermo", "Palermo"],
]


def test_errors_and_edge_replies(pair):
    pair.check(*SICILY)
    pair.check("SET", "str", "v")
    for cmd in ERROR_CASES:
        pair.check(*cmd)
    pair.check("ZRANGE", "k", "0", "-1", "WITHSCORES")       # failed GEOADDs added nothing


def test_resp3_shapes(pair):
    pair.check(*SICILY)
    pair.hello3()
    pair.check("GEOPOS", "Sicily", "Palermo", "nope", "Catania")
    pair.check("GEOPOS", "nokey", "a")
    pair.check("GEOHASH", "Sicily", "Palermo", "nope")
    pair.check("GEODIST", "Sicily", "Palermo", "Catania", "km")
    pair.check("GEODIST", "Sicily", "Palermo", "nope")
    for opts in ([], ["WITHCOORD", "WITHDIST", "WITHHASH"], ["WITHHASH", "COUNT", "1"]):
        pair.check("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", *opts)
        pair.check("GEORADIUS", "Sicily", "15", "37", "200", "km", *opts)
    pair.check("GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    pair.check("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST")
    pair.check("ZRANGE", "d", "0", "-1", "WITHSCORES")


def test_odd_scores_and_map_edges(pair):
    """Members whose scores are no geohash (ZADD), and points on the limits."""
    pair.check("ZADD", "w", "-1", "a", "1e30", "b", "-1e30", "c", "inf", "d", "-inf", "e",
               "4503599627370496", "f", "9007199254740993", "g", "1.8e19", "h", "1e19", "i",
               "2.5", "j", "0", "k", "-0.5", "l", "9223372036854775808", "m", "-9223372036854775808", "n")
    members = list("abcdefghijklmn")
    pair.check("GEOPOS", "w", *members)
    pair.check("GEOHASH", "w", *members)
    for a, b in (("a", "j"), ("b", "c"), ("k", "l"), ("m", "n")):
        pair.check("GEODIST", "w", a, b, "km")
    pair.check("GEOSEARCH", "w", "FROMMEMBER", "a", "BYRADIUS", "30000", "km", "WITHHASH", "WITHDIST", "WITHCOORD")
    pair.check("GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "WITHHASH", "ASC")
    edges = []
    for i, (lon, lat) in enumerate([(180, LAT_MAX), (-180, -LAT_MAX), (180, -LAT_MAX), (-180, LAT_MAX),
                                    (0, 0), (180, 0), (-180, 0), (0, LAT_MAX), (0, -LAT_MAX),
                                    (179.9999999, 85.05112877), (-179.9999999, -85.0511287)]):
        edges += [repr(float(lon)), repr(float(lat)), f"e{i}"]
    pair.check("GEOADD", "edges", *edges)
    pair.check("ZRANGE", "edges", "0", "-1", "WITHSCORES")
    names = [f"e{i}" for i in range(11)]
    pair.check("GEOPOS", "edges", *names)
    pair.check("GEOHASH", "edges", *names)
    for lon, lat in ((180, LAT_MAX), (-180, -LAT_MAX), (180, 0), (-180, 0), (0, LAT_MAX), (179.99, 84.9)):
        for radius in ("1", "1000", "500000", "5000000", "20000000", "40000000", "inf"):
            for unit in ("m", "ft"):
                pair.check("GEOSEARCH", "edges", "FROMLONLAT", repr(float(lon)), repr(float(lat)), "BYRADIUS",
                           radius, unit, "WITHDIST", "WITHCOORD")
                pair.check("GEOSEARCH", "edges", "FROMLONLAT", repr(float(lon)), repr(float(lat)), "BYBOX",
                           radius, radius, unit, "WITHHASH")
    for name in names:
        pair.check("GEORADIUSBYMEMBER", "edges", name, "0", "m", "WITHDIST")
        pair.check("GEOSEARCH", "edges", "FROMMEMBER", name, "BYBOX", "0", "0", "km")
        pair.check("GEOSEARCH", "edges", "FROMMEMBER", name, "BYRADIUS", "1e-300", "km")


def test_equal_distances_keep_the_walking_order(pair):
    """Points at one position tie in distance: ASC/DESC keep them in the
    order the search met them (a stable sort, as glibc's qsort is for
    redis-server) when every match is returned."""
    args = []
    for i in range(40):
        args += ["2.5", "4.5", f"same{i}", "2.5", str(4.5 + (i % 5) * 0.01), f"row{i}"]
    pair.check("GEOADD", "t", *args)
    for order in ([], ["ASC"], ["DESC"]):
        pair.check("GEOSEARCH", "t", "FROMLONLAT", "2.5", "4.5", "BYRADIUS", "100", "km", "WITHDIST", *order)
        pair.check("GEOSEARCH", "t", "FROMLONLAT", "2.5", "4.5", "BYRADIUS", "100", "km", "COUNT", "80", *order)
        pair.check("GEOSEARCH", "t", "FROMLONLAT", "2.5", "4.5", "BYRADIUS", "100", "km", "COUNT", "7", "ANY", *order)


def test_count_cutting_through_ties_keeps_equally_near_points(pair):
    """The one documented deviation: COUNT n below the number of matches,
    with points at one position (equal distances) around the cut. Redis
    partially sorts with its own pqsort, so which of the tied points it
    keeps, and their order, differ from ours; the distances returned, and
    every point that is not tied, are the same."""
    args = []
    for i in range(30):
        args += ["5", "5", f"tie{i}"]
    for i in range(10):
        args += [str(5 + (i + 1) * 0.01), "5", f"near{i}"]
    pair.check("GEOADD", "t", *args)
    tied = {f"tie{i}".encode() for i in range(30)}
    for count in ("1", "5", "29", "31", "35"):
        for order in ([], ["ASC"], ["DESC"]):
            a, b = pair.call("GEOSEARCH", "t", "FROMLONLAT", "5.05", "5", "BYRADIUS", "100", "km",
                             "WITHDIST", "COUNT", count, *order)
            va, vb = decode_one(a), decode_one(b)
            assert [d for _, d in va] == [d for _, d in vb], (count, order, va, vb)
            assert [m for m, _ in va if m not in tied] == [m for m, _ in vb if m not in tied]
            assert all(m in tied for m, _ in va if m.startswith(b"tie"))
            assert len({m for m, _ in va}) == len(va)


def test_distance_rounding_is_redis_own(pair):
    """WITHDIST/GEODIST round distance * 10^4 half to even (redis-server
    7.0.15), not as printf's %.4f: 18386326.043850001 ft prints .0438."""
    pair.check("ZADD", "g", "4358271231677800", "p", "3479099956230698", "q")
    centre = ("162.27207112179997", "30.47902413236031")
    assert pair.check("GEORADIUS_RO", "g", *centre, "18616559.0", "ft", "WITHDIST") == \
        b"*1\r\n*2\r\n$1\r\np\r\n$13\r\n18386326.0438\r\n"
    pair.check("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", *centre, "BYRADIUS", "18616559.0", "ft", "STOREDIST")
    pair.check("ZSCORE", "d", "p")
    for unit in ("m", "km", "ft", "mi"):
        pair.check("GEODIST", "g", "p", "q", unit)
        pair.check("GEODIST", "g", "p", "p", unit)


def test_inside_multi_exec(pair):
    pair.check("MULTI")
    for cmd in (SICILY, ["GEOPOS", "Sicily", "Palermo"],
                ["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
                ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d2", "DESC"],
                ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"],
                ["GEODIST", "d", "Palermo", "Catania", "km"], ["ZRANGE", "d2", "0", "-1", "WITHSCORES"]):
        pair.check(*cmd)
    pair.check("EXEC")
    pair.check("MULTI")
    pair.check("GEOADD", "Sicily", "1")                       # arity: the transaction is discarded
    pair.check("EXEC")


def test_integer_encoded_members(pair):
    """Members that look like integers (Redis keeps them as integers in a
    listpack) come back as the same bytes."""
    pair.check("GEOADD", "n", "1", "1", "12", "1.001", "1", "-7", "1.002", "1", "007", "1.003", "1", "12345678901234567890")
    pair.check("GEOSEARCH", "n", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km", "WITHDIST")
    pair.check("GEOSEARCHSTORE", "d", "n", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km")
    pair.check("ZRANGE", "d", "0", "-1", "WITHSCORES")


def test_geoadd_flags_and_zset_interplay(pair):
    for cmd in (
        ["GEOADD", "k", "ch", "1", "1", "a"], ["GEOADD", "k", "ch", "1", "2", "a"], ["GEOADD", "k", "1", "2", "a"],
        ["GEOADD", "k", "xx", "ch", "1", "1", "a"], ["GEOADD", "k", "XX", "2", "2", "b"], ["GEOADD", "k", "NX", "1", "3", "a", "3", "3", "b"],
        ["GEOADD", "k", "nx", "ch", "5", "5", "a", "6", "6", "c"], ["GEOADD", "k", "CH", "NX", "CH", "7", "7", "d"],
        ["ZRANGE", "k", "0", "-1", "WITHSCORES"], ["ZCARD", "k"], ["TYPE", "k"], ["OBJECT", "ENCODING", "k"],
        ["ZREM", "k", "a"], ["GEOPOS", "k", "a", "b"], ["ZSCORE", "k", "b"],
        ["ZADD", "k", "3471579339700058", "z"], ["GEOPOS", "k", "z"], ["GEOHASH", "k", "z"],
    ):
        pair.check(*cmd)


def test_command_table(pair):
    names = ["geoadd", "geopos", "geohash", "geodist", "geosearch", "geosearchstore", "georadius",
             "georadius_ro", "georadiusbymember", "georadiusbymember_ro"]
    for name in names:
        a, b = pair.call("COMMAND", "INFO", name)
        va, vb = decode_one(a)[0], decode_one(b)[0]
        assert va[:6] == vb[:6], (name, va[:6], vb[:6])          # name arity flags first last step
        assert sorted(va[6]) == sorted(vb[6]), (name, va[6], vb[6])  # ACL categories
    for cmd in (
        ["georadius", "k", "0", "0", "1", "m", "store", "d", "storedist", "e"],
        ["georadius", "k", "0", "0", "1", "m", "storedist", "x", "store", "y"],
        ["georadius", "k", "0", "0", "1", "m", "store", "d", "store", "e"],
        ["georadius", "k", "0", "0", "1", "m", "count", "store"], ["georadius", "k", "0", "0", "1", "store", "m"],
        ["georadiusbymember", "k", "m", "1", "m", "STORE", "d"], ["georadiusbymember", "k", "store", "d", "store"],
        ["georadius_ro", "k", "0", "0", "1", "m"], ["geosearchstore", "d", "s", "frommember", "m", "byradius", "1", "m"],
        ["geoadd", "k", "1", "1", "m"], ["geodist", "k", "a", "b"],
    ):
        pair.check("COMMAND", "GETKEYS", *cmd)


def test_keyspace_events(node, redis_server):
    """GEOADD notifies as the ZADD it is; stores as geosearchstore /
    georadiusstore, an empty result as del."""
    conns = {}
    for name, srv in (("node", node), ("redis", redis_server)):
        c = RawConn(srv.host, srv.port)
        sub = RawConn(srv.host, srv.port)
        c.call("CONFIG", "SET", "notify-keyspace-events", "KEAnm")
        sub.call("PSUBSCRIBE", "*")
        conns[name] = (c, sub)
    script = [
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"],          # nothing changed: no event
        ["GEOADD", "g", "XX", "CH", "13.4", "38.1", "Palermo"],
        ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d2"],
        ["GEORADIUSBYMEMBER", "g", "Palermo", "1", "km", "STOREDIST", "d2"],  # Palermo alone
        ["GEORADIUS", "g", "0", "0", "1", "km", "STOREDIST", "d2"],            # empty: del
        ["GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],  # keymiss + del
        ["GEOSEARCH", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],             # keymiss
        ["GEOPOS", "nokey", "a"], ["GEODIST", "nokey", "a", "b"], ["GEOHASH", "nokey", "a"],
        ["PUBLISH", "end", "x"],
    ]
    got = {}
    for name, (c, sub) in conns.items():
        for cmd in script:
            c.call(*cmd)
        msgs = []
        while True:                          # until PUBLISH end (bounded by read timeouts)
            m = decode_one(sub.read_reply(timeout=5))
            if m[0] != b"pmessage":
                continue
            if m[2] == b"end":
                break
            msgs.append((m[2], m[3]))
            assert len(msgs) < 1000
        got[name] = msgs
        c.close()
        sub.close()
    assert got["node"] == got["redis"]
    events = {(ch.split(b":", 1)[1], key) for ch, key in got["node"] if ch.startswith(b"__keyevent")}
    for ev in ((b"zadd", b"g"), (b"new", b"g"), (b"geosearchstore", b"d"), (b"georadiusstore", b"d2"),
               (b"del", b"d2"), (b"del", b"d"), (b"keymiss", b"nokey")):
        assert ev in events, (ev, sorted(events))


# ------------------------------------------------------------------ random differential

class GeoGen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.members = []

    def lonlat(self, distinct=False):
        """distinct: full precision and no exact limits, so that the point
        lands where no other does (ties in distance are not compared)."""
        r = self.r
        kind = r.randrange(9 if distinct else 10)
        if kind < 3:
            lon, lat = r.uniform(-180, 180), r.uniform(-LAT_MAX, LAT_MAX)
        elif kind < 5:                          # a cluster around a few centres
            c = r.choice(self.centres)
            spread = c[2]
            lon = max(-180.0, min(180.0, c[0] + r.uniform(-spread, spread)))
            lat = max(-LAT_MAX, min(LAT_MAX, c[1] + r.uniform(-spread, spread)))
        elif kind < 7:                          # near the poles
            lon, lat = r.uniform(-180, 180), r.choice([1, -1]) * r.uniform(70, LAT_MAX)
        elif kind < 9:                          # near the antimeridian
            lon, lat = r.choice([1, -1]) * r.uniform(170, 180), r.uniform(-LAT_MAX, LAT_MAX)
        else:                                   # on a limit
            lon = r.choice([180.0, -180.0, 0.0, r.uniform(-180, 180)])
            lat = r.choice([LAT_MAX, -LAT_MAX, 0.0, r.uniform(-LAT_MAX, LAT_MAX)])
        digits = None if distinct else r.choice([None, 6, 3])
        fmt = (lambda v: repr(float(v))) if digits is None else (lambda v: f"{v:.{digits}f}")
        return fmt(lon), fmt(lat)

    def populate(self):
        r = self.r
        self.centres = [(r.uniform(-180, 180), r.uniform(-80, 80), r.choice([0.01, 0.5, 5, 30]))
                        for _ in range(3)]
        n = r.choice([8, 40, 120, 300, 800])
        cmds, args = [], []
        for i in range(n):
            lon, lat = self.lonlat()
            name = f"m{i}" if r.random() < 0.9 else r.choice([str(i), f"{i}-" + "x" * 70])
            self.members.append(name)
            args += [lon, lat, name]
            if len(args) >= 300:
                cmds.append(["GEOADD", "g", *args])
                args = []
        if args:
            cmds.append(["GEOADD", "g", *args])
        return cmds

    def unit(self):
        return self.r.choice(["m", "km", "mi", "ft", "KM", "M"])

    def distance(self, unit):
        r = self.r
        metres = 10 ** r.uniform(0, 7.7)                 # 1 m .. 50000 km
        if r.random() < 0.05:
            metres = r.choice([0.0, 1e-9, 2.1e7, 4.1e7, 1e9])
        per = {"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048}[unit.lower()]
        return repr(round(metres / per, self.r.choice([0, 3, 9])))

    def centre_args(self, search):
        r = self.r
        if r.random() < 0.5 and self.members:
            m = r.choice(self.members) if r.random() < 0.97 else "missing"
            return ["FROMMEMBER", m] if search else ("member", m)
        lon, lat = self.lonlat()
        return ["FROMLONLAT", lon, lat] if search else ("lonlat", lon, lat)

    def options(self, store):
        r = self.r
        opts = []
        if not store:
            opts += r.sample(["WITHCOORD", "WITHDIST", "WITHHASH"], r.randrange(4))
        p = r.random()
        if p < 0.35:
            opts += ["COUNT", str(r.choice([1, 2, 3, 5, 10, 50, 1000]))]
            if r.random() < 0.4:
                opts.append("ANY")
        if r.random() < 0.5:
            opts.append(r.choice(["ASC", "DESC"]))
        r.shuffle(opts) if r.random() < 0.3 and "COUNT" not in opts else None
        return opts

    def search(self):
        r = self.r
        p = r.randrange(6)
        unit = self.unit()
        if p in (0, 1):                                   # GEOSEARCH / GEOSEARCHSTORE
            store = p == 1
            shape = ["BYRADIUS", self.distance(unit), unit] if r.random() < 0.5 else \
                ["BYBOX", self.distance(unit), self.distance(unit), unit]
            opts = self.options(store)
            if store and r.random() < 0.5:
                opts.append("STOREDIST")
            head = ["GEOSEARCHSTORE", "dst", "g"] if store else ["GEOSEARCH", "g"]
            return head + self.centre_args(True) + shape + opts, store
        ro = p in (2, 3) and r.random() < 0.5
        store = not ro and r.random() < 0.3
        opts = self.options(store)
        if store:
            opts += [r.choice(["STORE", "STOREDIST"]), "dst"]
        if p in (2, 3):
            lon, lat = self.lonlat()
            return ["GEORADIUS_RO" if ro else "GEORADIUS", "g", lon, lat, self.distance(unit), unit] + opts, store
        m = r.choice(self.members) if r.random() < 0.97 else "missing"
        ro = r.random() < 0.3 and not store
        return ["GEORADIUSBYMEMBER_RO" if ro else "GEORADIUSBYMEMBER", "g", m, self.distance(unit), unit] + opts, store

    def command(self):
        r = self.r
        p = r.random()
        if p < 0.7:
            cmd, store = self.search()
            return [cmd] + ([["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "dst"]] if store else [])
        if p < 0.8:
            ms = [r.choice(self.members) for _ in range(r.randrange(1, 5))]
            return [[r.choice(["GEOPOS", "GEOHASH"]), "g", *ms]]
        if p < 0.9:
            cmd = ["GEODIST", "g", r.choice(self.members), r.choice(self.members)]
            return [cmd + ([self.unit()] if r.random() < 0.7 else [])]
        if p < 0.95:
            lon, lat = self.lonlat(distinct=True)
            name = r.choice(self.members + [f"new{r.randrange(1000)}"])
            if name not in self.members:
                self.members.append(name)
            return [["GEOADD", "g", *r.sample(["NX", "XX", "CH"], r.randrange(2)), lon, lat, name]]
        return [["ZREM", "g", r.choice(self.members)]]


def drop_shared_positions(node_conn, ref_conn):
    """Leaves one member per position: points at the same place are at the
    same distance from any centre, and which of such ties COUNT keeps (and in
    which order) is not specified (docs/commands.md)."""
    flat = decode_one(ref_conn.call("ZRANGE", "g", "0", "-1", "WITHSCORES"))
    seen, extra = set(), []
    for member, score in zip(flat[0::2], flat[1::2]):
        if score in seen:
            extra.append(member)
        seen.add(score)
    for i in range(0, len(extra), 100):
        cmd = ["ZREM", "g", *extra[i:i + 100]]
        assert node_conn.call(*cmd) == ref_conn.call(*cmd)
    return {m.decode() for m in extra}


def run_geo_seed(node_conn, ref_conn, seed):
    gen = GeoGen(seed)
    resp3 = seed % 4 == 3
    for c in (node_conn, ref_conn):
        c.call("HELLO", "2")
        assert c.call("FLUSHALL") == b"+OK\r\n"
    for cmd in gen.populate():
        assert node_conn.call(*cmd) == ref_conn.call(*cmd)
    dropped = drop_shared_positions(node_conn, ref_conn)
    gen.members = [m for m in gen.members if m not in dropped]
    assert node_conn.call("ZRANGE", "g", "0", "-1", "WITHSCORES") == ref_conn.call("ZRANGE", "g", "0", "-1", "WITHSCORES")
    if resp3:
        for c in (node_conn, ref_conn):
            c.call("HELLO", "3")
    done = 0
    while done < COMMANDS:
        cmds = []
        while len(cmds) < BATCH:
            cmds += gen.command()
        frame = b"".join(encode_command(*c) for c in cmds)
        node_conn.send_raw(frame)
        ref_conn.send_raw(frame)
        for cmd in cmds:
            a, b = node_conn.read_reply(), ref_conn.read_reply()
            assert a == b, f"seed {seed}: {fmt_args(cmd)}: node {a[:400]!r} != redis {b[:400]!r}"
        done += len(cmds)


@pytest.mark.parametrize("seed", SEEDS)
def test_geo_random_differential(node, redis_server, seed):
    a = RawConn(node.host, node.port)
    b = RawConn(redis_server.host, redis_server.port)
    try:
        run_geo_seed(a, b, seed)
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------ effects, DUMP/RESTORE

def _engine():
    try:
        from pynode import load_engine
    except ImportError as exc:
        pytest.skip(f"engine extension not built: {exc}")
    return load_engine().Engine()


def _effects(e):
    from test_effects_replay import all_commands
    return all_commands(e.drain_effects())


def test_effects_are_sorted_set_writes_and_replay():
    """GEOADD logs the ZADD it amounts to; a store logs DEL + ZADD of its
    result (not the search, whose libm arithmetic a replica on another
    machine might round differently); an empty store logs DEL. Replaying the
    records on a second engine rebuilds the same keyspace."""
    a, b = _engine(), _engine()
    assert a.execute(*SICILY) == b":2\r\n"
    assert _effects(a) == [[b"ZADD", b"Sicily", b"3479099956230698", b"Palermo",
                            b"3479447370796909", b"Catania"]]
    assert a.execute("GEOADD", "Sicily", "xx", "CH", "13.361389", "38.115556", "Palermo") == b":0\r\n"
    assert _effects(a) == []                                   # nothing changed: nothing logged
    assert a.execute("GEOADD", "Sicily", "XX", "CH", "13.4", "38.1", "Palermo") == b":1\r\n"
    score = decode_one(a.execute("ZSCORE", "Sicily", "Palermo"))
    assert _effects(a) == [[b"ZADD", b"Sicily", b"XX", b"CH", score, b"Palermo"]]
    a.execute("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST")
    cmds = _effects(a)
    assert cmds[0] == [b"DEL", b"d"] and cmds[1][:2] == [b"ZADD", b"d"], cmds
    assert cmds[1][3::2] == [b"Catania", b"Palermo"] and len(cmds) == 2
    assert cmds[1][2::2] == [decode_one(a.execute("ZSCORE", "d", m)) for m in ("Catania", "Palermo")]
    a.execute("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2")
    assert _effects(a)[1][:2] == [b"ZADD", b"d2"]
    a.execute("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "d2")     # empty: deletes
    assert _effects(a) == [[b"DEL", b"d2"]]
    a.execute("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
    a.execute("GEORADIUS", "Sicily", "15", "37", "200", "km")                 # a write that writes nothing
    assert _effects(a) == []

    a2 = _engine()
    for cmd in (SICILY, ["GEOADD", "Sicily", "XX", "CH", "13.4", "38.1", "Palermo"],
                ["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"],
                ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"]):
        a2.execute(*cmd)
    for rec in a2.drain_effects():
        b.apply_effects(rec)
    assert b.drain_effects() == []
    assert a2.digest() == b.digest()
    for key in ("Sicily", "d", "d2"):
        assert a2.execute("ZRANGE", key, "0", "-1", "WITHSCORES") == b.execute("ZRANGE", key, "0", "-1", "WITHSCORES")


def test_a_geo_key_is_a_sorted_set(node):
    c = RawConn(node.host, node.port)
    try:
        c.call(*SICILY)
        assert c.call("TYPE", "Sicily") == b"+zset\r\n"
        assert c.call("OBJECT", "ENCODING", "Sicily") == b"$8\r\nlistpack\r\n"
        payload = decode_one(c.call("DUMP", "Sicily"))
        assert c.call("RESTORE", "copy", "0", payload) == b"+OK\r\n"
        assert c.call("GEOPOS", "copy", "Palermo", "Catania") == c.call("GEOPOS", "Sicily", "Palermo", "Catania")
        assert c.call("GEODIST", "copy", "Palermo", "Catania") == b"$11\r\n166274.1516\r\n"
        args = []
        for i in range(200):
            args += [str(i * 0.01), str(i * 0.01), f"p{i}"]
        c.call("GEOADD", "big", *args)
        assert c.call("OBJECT", "ENCODING", "big") == b"$8\r\nskiplist\r\n"
        payload = decode_one(c.call("DUMP", "big"))
        assert c.call("RESTORE", "big2", "0", payload) == b"+OK\r\n"
        assert c.call("OBJECT", "ENCODING", "big2") == b"$8\r\nskiplist\r\n"
        q = ("FROMLONLAT", "1", "1", "BYRADIUS", "50", "km", "WITHDIST", "WITHHASH")
        assert c.call("GEOSEARCH", "big2", *q) == c.call("GEOSEARCH", "big", *q)
        assert c.call("ZCARD", "big2") == b":200\r\n"
    finally:
        c.close()


# ------------------------------------------------------------------ durable cluster

def test_durable_cluster_replica_sees_the_same_geo_data(cluster_factory):
    """GEOADD and the stores on a durable primary: the replica holds the same
    keys, scores and answers; a store whose result the log cannot take is
    refused before it changes anything; a restarted cluster replays it all."""
    redis = pytest.importorskip("redis")
    c = cluster_factory(replicas=1)
    r = redis.Redis(host="127.0.0.1", port=c.primary.info["port"], socket_timeout=60)
    rng = random.Random(7)
    for batch in range(4):
        args = []
        for i in range(150):
            args += [repr(rng.uniform(-180, 180)), repr(rng.uniform(-LAT_MAX, LAT_MAX)), f"p{batch}-{i}"]
        assert r.execute_command("GEOADD", "g", *args) == 150
    r.execute_command("GEOADD", "g", "XX", "CH", "13.4", "38.1", "p0-1")
    r.execute_command("GEOSEARCHSTORE", "near", "g", "FROMLONLAT", "10", "40", "BYRADIUS", "3000", "km")
    r.execute_command("GEOSEARCHSTORE", "dist", "g", "FROMMEMBER", "p1-7", "BYBOX", "4000", "2000", "mi",
                      "STOREDIST", "COUNT", "20")
    r.execute_command("GEORADIUS", "g", "-70", "-30", "5000", "km", "STORE", "radius", "STOREDIST", "radius2")
    r.execute_command("GEORADIUSBYMEMBER", "g", "p2-3", "1", "m", "STORE", "radius2")   # p2-3 alone
    r.set("gone", "x")
    r.execute_command("GEOSEARCHSTORE", "gone", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m")
    assert r.exists("gone") == 0

    # a result past the log's record limit: refused, nothing changed
    member = lambda i: bytes([65 + i]) * (1 << 20)
    for i in range(17):
        r.execute_command("GEOADD", "huge", "10", str(10 + i * 1e-4), member(i))
    digest = r.execute_command("DEBUG", "DIGEST")
    too_large = "write too large for the durable log"
    with pytest.raises(redis.ResponseError, match=too_large):
        r.execute_command("GEOSEARCHSTORE", "hdst", "huge", "FROMLONLAT", "10", "10", "BYRADIUS", "10", "km")
    with pytest.raises(redis.ResponseError, match=too_large):
        r.execute_command("GEORADIUS", "huge", "10", "10", "10", "km", "STOREDIST", "hdst")
    assert r.execute_command("DEBUG", "DIGEST") == digest and r.exists("hdst") == 0
    assert r.execute_command("GEOSEARCHSTORE", "hdst", "huge", "FROMLONLAT", "10", "10", "BYRADIUS", "10", "km",
                             "COUNT", "3") == 3

    final = r.execute_command("DEBUG", "DIGEST")
    rep = redis.Redis(host="127.0.0.1", port=c.replica_nodes()[0].info["port"], socket_timeout=60)
    assert wait_until(lambda: rep.execute_command("DEBUG", "DIGEST") == final, timeout=60)
    for key in ("g", "near", "dist", "radius", "radius2", "hdst"):
        assert rep.zrange(key, 0, -1, withscores=True) == r.zrange(key, 0, -1, withscores=True), key
        assert rep.object("encoding", key) == r.object("encoding", key)
    search = ("GEOSEARCH", "g", "FROMLONLAT", "-70", "-30", "BYRADIUS", "5000", "km", "WITHDIST", "WITHCOORD")
    assert rep.execute_command(*search) == r.execute_command(*search)
    assert rep.execute_command("GEORADIUS_RO", "g", "-70", "-30", "5000", "km") == \
        r.execute_command("GEORADIUS_RO", "g", "-70", "-30", "5000", "km")
    with pytest.raises(redis.ResponseError, match="read only replica"):
        rep.execute_command("GEOADD", "g", "1", "1", "x")
    with pytest.raises(redis.ResponseError, match="read only replica"):
        rep.execute_command("GEORADIUS", "g", "1", "1", "1", "km")   # a write command, as in Redis

    data_dir = c.data_dir
    c.stop(remove_cluster_file=False)
    c2 = cluster_factory(data_dir=data_dir, replicas=0)
    r2 = redis.Redis(host="127.0.0.1", port=c2.primary.info["port"], socket_timeout=60)
    assert r2.execute_command("DEBUG", "DIGEST") == final
