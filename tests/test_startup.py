"""Process start-up stays cheap: every `dovecote` command, `serve`, `worker` and each test
that starts a server pays for what `dovecote.app` imports. Libraries that cost a lot to
import and serve only some requests are loaded when first used; these tests start a fresh
interpreter, since this one has long imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

# Loaded on first use, not at start-up (bench/README.md, "Process start-up").
DEFERRED = ["pybars", "pymeta", "pypdf", "img2pdf", "pikepdf", "fontTools"]


def run_fresh(code: str) -> Any:
    """`code` run in a new interpreter (this one's path and environment); its last line
    prints one JSON value."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_app_loads_none_of_the_deferred_libraries() -> None:
    found = run_fresh(
        f"""
        import json, sys
        import dovecote.app, dovecote.cli
        print(json.dumps({{name: name in sys.modules for name in {DEFERRED!r}}}))
        """
    )
    assert found == dict.fromkeys(DEFERRED, False)


def test_pybars_loads_on_the_first_template_that_needs_its_compiler() -> None:
    found = run_fresh(
        """
        import json, sys
        from dovecote.core.templating import render
        simple = render("Hi {{name}} <{{{raw}}}>", {"name": "<Ann>", "raw": "<b>"})
        after_simple = "pybars" in sys.modules
        block = render("{{#each xs}}[{{this}}]{{/each}}", {"xs": ["a", "<b>"]})
        print(json.dumps([simple, after_simple, block, "pybars" in sys.modules]))
        """
    )
    assert found == ["Hi &lt;Ann&gt; <<b>>", False, "[a][&lt;b&gt;]", True]


def test_threads_compiling_first_all_get_the_same_working_compiler() -> None:
    found = run_fresh(
        """
        import json
        from concurrent.futures import ThreadPoolExecutor
        from dovecote.core import templating

        def one(n):
            text = templating.render("{{#if on}}" + str(n) + "{{/if}}", {"on": True})
            return text, id(templating._pybars().compiler)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(8)))
        print(json.dumps([[text for text, _ in results], len({c for _, c in results})]))
        """
    )
    assert found == [[str(n) for n in range(8)], 1]


def test_the_cli_loads_without_walking_its_objects_again_and_leaves_the_collector_be() -> None:
    # Full collections while loading walked ~250,000 start-up objects each time; young
    # ones walked them twice more once the collector was back on (cli.py).
    found = run_fresh(
        """
        import gc, json
        before = [g["collections"] for g in gc.get_stats()]
        import dovecote.cli
        young = [object() for _ in range(20_000)]  # young collections run again
        after = [g["collections"] for g in gc.get_stats()]
        print(json.dumps({
            "collections": [b - a for a, b in zip(before, after)],
            "enabled": gc.isenabled(),
            "frozen": gc.get_freeze_count(),
            "oldest": len(gc.get_objects(2)) > 100_000,
        }))
        """
    )
    assert found["collections"][2] == 0
    assert found["collections"][0] > 0
    assert found == {**found, "enabled": True, "frozen": 0, "oldest": True}


def test_the_cli_keeps_a_disabled_collector_disabled_and_others_frozen_objects_frozen() -> None:
    found = run_fresh(
        """
        import gc, json
        keep = [[n] for n in range(1_000)]
        gc.freeze()
        gc.disable()
        import dovecote.cli
        # unfreeze() would have released all of them (the count drops only as they die)
        print(json.dumps([gc.isenabled(), gc.get_freeze_count() > len(keep)]))
        """
    )
    assert found == [False, True]
