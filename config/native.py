"""The per-fix rule code compiled to C by mypyc, used only when the build matches the sources.

The rules run for every fix the pipeline stores; interpreted, they cost as much as storing the
fix (issue 5). mypyc compiles the same type-annotated modules to C extensions (about twice as
fast here, same findings); the Python sources stay the only source of truth:

* ``build()`` (run by bin/setup) compiles ``MODULES`` into ``var/native/<digest>/`` — outside
  the source tree, so an edited ``.py`` is never shadowed by a stale extension — and records in
  ``var/native/manifest.json`` which source files the digest covers (the compiled modules and
  the project modules they import, whose annotations were compiled in).
* ``attach()``, called by the packages that hold compiled modules, puts that build first on
  the package's ``__path__`` only when the digest of those files now equals the build's. An
  edited source, another Python or ``FLEETWATCH_NATIVE=0`` leaves the interpreted modules in
  use (a warning says why); ``bin/setup`` rebuilds.

Nothing here imports Django: the package ``__init__`` modules call it before their modules load.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = ROOT / "var" / "native"
MANIFEST = NATIVE_DIR / "manifest.json"
# What runs per fix: the rule state machines, a vehicle's state, the inputs, the registry facts,
# the geometry lookups and the distance. Package __init__ modules stay interpreted (attach()
# runs in them).
MODULES = (
    "compliance/engine/credentials.py",
    "compliance/engine/daily.py",
    "compliance/engine/driving.py",
    "compliance/engine/fatigue.py",
    "compliance/engine/meter.py",
    "compliance/engine/model.py",
    "compliance/engine/overspeed.py",
    "compliance/engine/presence.py",
    "compliance/engine/quality.py",
    "compliance/engine/routes.py",
    "compliance/engine/terminal_alarms.py",
    "compliance/runtime/batch.py",
    "compliance/runtime/config.py",
    "compliance/runtime/facts.py",
    "compliance/runtime/geometry.py",
    "compliance/runtime/inputs.py",
    "compliance/runtime/silence.py",
    "compliance/runtime/vehicle.py",
    "fleet/geo/distance.py",
)
PROJECT_PACKAGES = ("accounts", "compliance", "complaints", "config", "fleet")
MYPY_OPTIONS = ("--ignore-missing-imports", "--follow-imports=silent")

def enabled() -> bool:
    return os.environ.get("FLEETWATCH_NATIVE", "1") != "0"


def _abi_tag() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or "")


def digest(files: list[str], root: Path = ROOT) -> str:
    sha = hashlib.sha256(_abi_tag().encode())
    for name in files:
        sha.update(name.encode())
        sha.update((root / name).read_bytes())
    return sha.hexdigest()[:16]


def covered_files() -> list[str]:
    """The compiled modules and the project modules they import (their annotations are compiled
    into the calls), sorted."""
    found = set(MODULES)
    for name in MODULES:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] not in PROJECT_PACKAGES:
                    continue
                path = target.replace(".", "/")
                for candidate in (f"{path}.py", f"{path}/__init__.py"):
                    if (ROOT / candidate).is_file():
                        found.add(candidate)
    return sorted(found)


def matching_build(root: Path = ROOT) -> tuple[Path | None, str]:
    """The build under ``root`` made from the sources as they are now, or None and why not."""
    native_dir = root / "var" / "native"
    try:
        manifest = json.loads((native_dir / "manifest.json").read_text(encoding="utf-8"))
        if digest(manifest["files"], root) != manifest["digest"]:
            return None, "the sources changed since the last build"
        build = native_dir / manifest["digest"]
        if not (build / "complete").is_file():
            return None, "the build is incomplete"
        return build, ""
    except FileNotFoundError:
        return None, "no build (bin/setup makes one)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"unreadable manifest ({error})"


@functools.cache
def current_build() -> Path | None:
    """matching_build(), looked up once per process; a miss is logged."""
    build, reason = matching_build()
    if build is None:
        log.warning("rules run interpreted: %s; bin/setup rebuilds the compiled rules", reason)
    return build


def attach(package: str, path: list[str]) -> None:
    """Called in a package's __init__: its compiled modules load from the build, if current."""
    if not enabled():
        return
    build = current_build()
    if build is None:
        return
    compiled = build / package.replace(".", "/")
    if compiled.is_dir() and str(compiled) not in path:
        path.insert(0, str(compiled))
    if str(build) not in sys.path:
        sys.path.append(str(build))  # the shared library every compiled module imports


def in_use() -> bool:
    """Whether the rules of this process run compiled."""
    from compliance.runtime import vehicle

    return not str(getattr(vehicle, "__file__", "")).endswith(".py")


def build() -> Path:
    """Compile MODULES unless the current build matches; returns the build directory."""
    files = covered_files()
    wanted = digest(files)
    target = NATIVE_DIR / wanted
    if (target / "complete").is_file():
        _write_manifest(wanted, files)
        return target
    from mypyc.build import mypycify
    from setuptools import setup

    NATIVE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=NATIVE_DIR, prefix="building-") as work:
        work_path = Path(work)
        cwd = os.getcwd()
        try:
            os.chdir(ROOT)  # mypyc names modules by their paths relative to the working dir
            extensions = mypycify([*MYPY_OPTIONS, *MODULES], opt_level="3",
                                  target_dir=str(work_path / "c"))
            os.chdir(work_path)  # away from the project's pyproject.toml, which setup() reads
            setup(name="fleetwatch-rules", ext_modules=extensions,
                  script_args=["--quiet", "build_ext", "--build-lib", str(work_path / "lib"),
                               "--build-temp", str(work_path / "obj")])
        finally:
            os.chdir(cwd)
        (work_path / "lib" / "complete").write_text(wanted, encoding="utf-8")
        if not (target / "complete").is_file():  # another set-up may have finished it meanwhile
            shutil.rmtree(target, ignore_errors=True)
            (work_path / "lib").rename(target)
    _write_manifest(wanted, files)
    for old in NATIVE_DIR.iterdir():
        if old.is_dir() and old != target and not old.name.startswith("building-"):
            shutil.rmtree(old, ignore_errors=True)
    return target


def _write_manifest(wanted: str, files: list[str]) -> None:
    temporary = MANIFEST.with_suffix(".tmp")
    temporary.write_text(json.dumps({"digest": wanted, "files": files}), encoding="utf-8")
    temporary.replace(MANIFEST)


if __name__ == "__main__":
    print(build().relative_to(ROOT))
