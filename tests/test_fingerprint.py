"""tools/fingerprint.py: a warm build skips the figure / notebook subprocess only when
nothing they read has changed."""

from __future__ import annotations

from tools.fingerprint import fingerprint, load, save


def test_fingerprint_follows_files_and_extra(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    fp = fingerprint(tmp_path, ["*.py"], ["numpy"])
    assert fp == fingerprint(tmp_path, ["*.py"], ["numpy"])
    assert fp != fingerprint(tmp_path, ["*.py"], ["numpy"], extra="cuda")
    (tmp_path / "a.py").write_text("x = 2\n")
    assert fingerprint(tmp_path, ["*.py"], ["numpy"]) != fp
    (tmp_path / "b.py").write_text("")
    assert fingerprint(tmp_path, ["*.py"], ["numpy"]) != fingerprint(tmp_path, ["a.py"], ["numpy"])


def test_stamp_is_used_only_when_it_matches_and_its_files_exist(tmp_path):
    out = tmp_path / "fig.json"
    out.write_text("{}")
    stamp = tmp_path / "cache" / ".stamp.json"
    assert load(stamp, "f1") is None  # no stamp yet
    save(stamp, "f1", {"fig": str(out)})
    assert load(stamp, "f1") == {"fig": str(out)}
    assert load(stamp, "f2") is None  # inputs changed
    out.unlink()
    assert load(stamp, "f1") is None  # an output was deleted: run the step again
    stamp.write_text("not json")
    assert load(stamp, "f1") is None


def test_hooks_cover_what_their_steps_read():
    """The fingerprints must cover every input of the subprocesses they stand in for."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    figures = (root / "hooks" / "figures.py").read_text(encoding="utf-8")
    notebooks = (root / "hooks" / "notebooks.py").read_text(encoding="utf-8")
    assert '["snippets/*.py"]' in figures and '"scikit-learn"' in figures
    for glob in ("notebooks/*.yml", "snippets/*.py", "tools/*.py"):
        assert glob in notebooks
