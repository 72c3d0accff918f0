"""The benchmark and experiment scripts still import: every ``sfcli`` name they use exists.

They are run by hand, not by the suite, so a refactor of the package (a renamed function, a module
split) would otherwise break them silently. This reads each script's imports (top-level and inside
functions) without running it, and checks that every imported ``sfcli`` module and name resolves,
and that sibling-module imports (``from sweep_common import ...``) name a file next to the script.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for folder in ("benchmarks", "experiments") for p in (ROOT / folder).glob("*.py"))
SIBLINGS = {p.stem for p in SCRIPTS}


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` for every absolute import in ``path``."""
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


def _resolves(module: str, name: str | None) -> bool:
    mod = importlib.import_module(module)
    if name is None or hasattr(mod, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        return False
    return True


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) >= 10
    assert {p.parent.name for p in SCRIPTS} == {"benchmarks", "experiments"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sfcli_and_sibling_imports_resolve(script: Path) -> None:
    broken = []
    for module, name, line in _imports(script):
        top = module.split(".")[0]
        if top == "sfcli":
            ok = _resolves(module, name)
        elif top in SIBLINGS:  # a helper module of benchmarks/ or experiments/: must sit next to the script
            ok = (script.parent / f"{top}.py").is_file()
        else:
            continue  # third-party / standard library: the environment's business, not a refactor's
        if not ok:
            broken.append(f"line {line}: {module}{'' if name is None else f' import {name}'}")
    assert not broken, f"{script.relative_to(ROOT)}: " + "; ".join(broken)


def test_a_missing_name_is_caught(tmp_path: Path) -> None:
    fake = tmp_path / "fake.py"
    fake.write_text("def main():\n    from sfcli.metrics import si_sdr_np, no_such_function\n")
    assert [(m, n) for m, n, _ in _imports(fake)] == [
        ("sfcli.metrics", "si_sdr_np"),
        ("sfcli.metrics", "no_such_function"),
    ]
    assert _resolves("sfcli.metrics", "si_sdr_np")
    assert not _resolves("sfcli.metrics", "no_such_function")
