"""The compiled rules (config/native.py): in use after bin/setup, never stale, switchable.

That they find the same as the interpreted rules: the whole suite passes in both builds, and
bench/detection.py's report is identical (issue 5 note)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from config import native


def test_the_rules_run_as_set_up():
    """make test compiles the rules unless FLEETWATCH_NATIVE=0; this process runs what was
    asked for, never an interpreted fallback by accident."""
    import compliance.engine.fatigue
    import fleet.geo.distance

    modules = [Path(m.__file__) for m in (compliance.engine.fatigue, fleet.geo.distance)]
    if not native.enabled():
        assert not native.in_use() and all(m.suffix == ".py" for m in modules)
        return
    assert native.in_use(), (
        "the per-fix rules run interpreted: the compiled build is missing or older than the "
        "sources; run bin/setup (make test does)")
    for module in modules:
        assert module.suffix == ".so"
        assert module.is_relative_to(native.ROOT / "var" / "native")


def test_fleetwatch_native_0_runs_the_interpreted_rules():
    probe = ("import django; django.setup(); from config import native; "
             "import compliance.engine.fatigue as f; print(native.in_use(), f.__file__)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=native.ROOT,
                          env={**os.environ, "FLEETWATCH_NATIVE": "0",
                               "DJANGO_SETTINGS_MODULE": "config.settings"})
    in_use, path = done.stdout.split()
    assert in_use == "False" and path == str(native.ROOT / "compliance/engine/fatigue.py")


def test_the_digest_covers_the_project_modules_the_compiled_ones_import():
    files = native.covered_files()
    assert set(native.MODULES) <= set(files)
    # vehicle.py imports compliance.catalogue.applies and fleet.models.registry names.
    assert "compliance/catalogue.py" in files
    assert any(name.startswith("fleet/models/") for name in files)
    assert all((native.ROOT / name).is_file() for name in files)


def copy_build(tmp_path: Path) -> Path:
    """A project tree with a manifest and a (pretend) build made from its sources."""
    files = ["compliance/engine/driving.py", "fleet/geo/distance.py"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(native.ROOT / name, tmp_path / name)
    wanted = native.digest(files, tmp_path)
    build = tmp_path / "var" / "native" / wanted
    build.mkdir(parents=True)
    (build / "complete").write_text(wanted)
    (tmp_path / "var" / "native" / "manifest.json").write_text(
        json.dumps({"digest": wanted, "files": files}))
    return build


def test_a_build_is_used_only_while_its_sources_are_unchanged(tmp_path):
    build = copy_build(tmp_path)
    assert native.matching_build(tmp_path) == (build, "")
    source = tmp_path / "fleet" / "geo" / "distance.py"
    source.write_text(source.read_text() + "\n# edited\n")
    assert native.matching_build(tmp_path) == (None, "the sources changed since the last build")


def test_an_unfinished_or_missing_build_is_not_used(tmp_path):
    assert native.matching_build(tmp_path) == (None, "no build (bin/setup makes one)")
    build = copy_build(tmp_path)
    (build / "complete").unlink()
    assert native.matching_build(tmp_path) == (None, "the build is incomplete")
    (tmp_path / "var" / "native" / "manifest.json").write_text("{not json")
    found, reason = native.matching_build(tmp_path)
    assert found is None and reason.startswith("unreadable manifest")
