"""The shared-memory record ring (csrc/ring.c): the C stress test under
sanitizers, and the Python face the replicator uses, across two mappings of
one file as the two processes of a node see it."""
import os
import shutil
import subprocess

import pytest

from pynode._shm import Ring, iter_records

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def test_c_ring_stress_under_sanitizers(tmp_path):
    gcc = shutil.which("gcc")
    assert gcc, "gcc is part of the build requirements"
    exe = tmp_path / "test_ring"
    subprocess.run(
        [gcc, "-std=gnu11", "-O1", "-g", "-fsanitize=address,undefined",
         "-fno-sanitize-recover", "-I", os.path.join(ROOT, "csrc"),
         os.path.join(HERE, "c", "test_ring.c"), os.path.join(ROOT, "csrc", "ring.c"),
         "-lpthread", "-o", str(exe)],
        check=True,
    )
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "test_ring: ok" in out.stdout


def test_two_mappings_share_records_and_published_values(tmp_path):
    path = str(tmp_path / "ring")
    producer = Ring.create(path, 16)
    consumer = Ring.open(path)
    sent = [(i, os.urandom(i % 700)) for i in range(1, 400)]
    got = []
    for seq, rec in sent:
        while not producer.push(seq, rec):
            got.extend(consumer.pop_records(1 << 14))
    while not consumer.empty:
        got.extend(consumer.pop_records(1 << 14))
    assert got == sent
    consumer.commit_seq = 399
    assert producer.commit_seq == 399
    producer.set_aux(2, 7)
    assert consumer.get_aux(2) == 7


def test_batch_blob_format_and_small_buffers(tmp_path):
    r = Ring.create(str(tmp_path / "ring"), 12)
    assert r.push(5, b"hello")
    blob, n = r.pop_batch(4)          # too small: grows to fit one record
    assert n == 1 and list(iter_records(blob)) == [(5, b"hello")]


def test_bad_regions_and_oversized_records_are_refused(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"\0" * 8192)
    with pytest.raises(ValueError):
        Ring.open(str(path))
    with pytest.raises(ValueError):
        Ring.create(str(tmp_path / "r"), 40)
    r = Ring.create(str(tmp_path / "r2"), 12)
    with pytest.raises(ValueError):
        r.push(1, b"x" * (r.max_record + 1))
    assert r.max_record < 4096
