"""The crash-safe writers themselves: an atomic write replaces the file whole and leaves nothing behind
on failure, and the file it creates is as readable as a plain ``open(path, "w")`` would make it
(the temporary file's private 0600 mode must not leak into the output)."""

from __future__ import annotations

import os
import stat

import pytest

from mrrml.io import JsonlAppender, atomic_write_json, atomic_write_text, repair_jsonl_tail


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_gives_plain_file_permissions(tmp_path):
    plain, atomic = tmp_path / "plain.json", tmp_path / "atomic.json"
    plain.write_text("{}\n")
    atomic_write_json(atomic, {})
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~_umask()


def test_failed_atomic_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    atomic_write_text(target, "old\n")

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("serialisation failed")

    with pytest.raises(TypeError):
        atomic_write_json(target, {"x": Boom()})
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_torn_tail_is_cut_and_appending_resumes(tmp_path):
    log = tmp_path / "log.jsonl"
    with JsonlAppender(log) as out:
        out.write({"i": 1})
    with open(log, "ab") as handle:
        handle.write(b'{"i": 2, "half')  # what a SIGKILL mid-write leaves
    with JsonlAppender(log) as out:
        assert out.repaired_bytes == len(b'{"i": 2, "half')
        out.write({"i": 2})
    assert log.read_text() == '{"i": 1}\n{"i": 2}\n'
    assert repair_jsonl_tail(log) == 0
