"""The architecture is enforced: import-linter's contracts (pyproject.toml) hold on the
real tree, and they do catch a forbidden import when one is added."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "dovecote",
        tmp_path / "src" / "dovecote",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_tree() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_pipeline_importing_an_api_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    queue = tree / "src" / "dovecote" / "pipeline" / "queue.py"
    queue.write_text(queue.read_text() + "\nfrom dovecote.apis import deps  # noqa\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "dovecote.pipeline.queue -> dovecote.apis.deps" in result.stdout


def test_one_channel_importing_another_breaks_their_independence(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    codes = tree / "src" / "dovecote" / "channels" / "verify" / "codes.py"
    codes.write_text(codes.read_text() + "\nfrom dovecote.channels.sms import parts  # noqa\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "dovecote.channels.verify.codes -> dovecote.channels.sms.parts" in result.stdout


def test_no_module_imports_dovecote_inside_a_function() -> None:
    # A function-level import is how a cycle hides from import-time failure; with the
    # layers enforced there is no cycle to hide, so none is needed.
    found = []
    for path in (ROOT / "src" / "dovecote").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                    "dovecote"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert found == []


def test_only_the_event_log_writes_events() -> None:
    # Every event goes through `EventLog.record`, so every sink sees every event.
    writers = []
    for path in (ROOT / "src" / "dovecote").rglob("*.py"):
        text = path.read_text()
        if any(
            write in text
            for write in (
                "events.insert(",
                "events_table.insert(",
                "insert_columns(conn, events_table",
            )
        ):
            writers.append(str(path.relative_to(ROOT)))
    assert writers == ["src/dovecote/pipeline/events.py"]
