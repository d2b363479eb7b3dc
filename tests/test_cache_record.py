"""tools/cache_record.py: a cache entry is reused only as it was made."""

from __future__ import annotations

import pytest

from tools.cache_record import damaged, record


@pytest.fixture
def entry(tmp_path):
    (tmp_path / "a.json").write_text('{"x": 1}\n')
    (tmp_path / "a.svg").write_text("<svg/>\n")
    files = [tmp_path / "a.json", tmp_path / "a.svg"]
    record(files, tmp_path / ".sha256.json")
    return tmp_path, files


def test_an_intact_entry_is_reused(entry):
    folder, files = entry
    assert damaged(files, folder / ".sha256.json") is None


@pytest.mark.parametrize("harm, why", [
    (lambda f: f.write_text('{"x": 1'), "a.json changed since it was made"),     # truncated
    (lambda f: f.write_text('{"x": 2}\n'), "a.json changed since it was made"),  # edited
    (lambda f: f.unlink(), "a.json missing"),
])
def test_a_harmed_file_is_named(entry, harm, why):
    folder, files = entry
    harm(files[0])
    assert damaged(files, folder / ".sha256.json").endswith(why)


def test_swapped_files_and_a_lost_record_are_caught(entry):
    folder, files = entry
    a, b = (f.read_bytes() for f in files)
    files[0].write_bytes(b)
    files[1].write_bytes(a)
    assert "changed since it was made" in damaged(files, folder / ".sha256.json")
    (folder / ".sha256.json").unlink()
    assert damaged(files, folder / ".sha256.json").endswith(".sha256.json missing or unreadable")
