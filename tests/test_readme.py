"""The README's self-contained Python examples run as written and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
# the others are fragments of a user's program (their waves, model, hosts, Grain records)
WHOLE = [b for b in BLOCKS if b.startswith(("import jax", "from jaxspec"))]


def _promised(block: str) -> list[str]:
    """The printed lines a block's comments show: ``print(...)  # 400 160 201`` (up to a ``:``
    that starts a gloss); comments in words (``# the values drawn ...``) promise nothing."""
    shown = []
    for line in block.splitlines():
        if line.startswith("print(") and "#" in line:
            comment = line.split("#", 1)[1].strip()
            shown.append(comment.split(":")[0] if re.match(r"[\d(]", comment) else None)
    return shown


def test_the_readme_has_whole_examples():
    assert len(WHOLE) >= 4, [b[:40] for b in BLOCKS]  # the quick start, Kaldi MFCC, augmentation, SpecAugment


@pytest.mark.parametrize("block", WHOLE, ids=[f"block{i}" for i in range(len(WHOLE))])
def test_a_readme_example_runs_and_prints_what_it_says(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the augmentation example names "room_ir.wav" in the working folder
    soundfile.write("room_ir.wav", np.exp(-np.arange(1600) / 200.0).astype(np.float32), 16000)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lines_before = TEXT[: TEXT.index(block)].count("\n")  # a traceback names the README's own line
        exec(compile("\n" * lines_before + block, str(README), "exec"), {})
    printed = out.getvalue().splitlines()
    promised = _promised(block)
    assert len(printed) == len(promised), (printed, promised)
    for line, shown in zip(printed, promised, strict=True):
        assert shown is None or line == shown, (line, shown)


def test_public_docstring_examples_run_with_only_the_public_names():
    # pytest's doctests see the module's own globals (its jax, np, private helpers); a user
    # copying an example has only `from jaxspec import *` and what the example imports
    import doctest
    import inspect

    import jaxspec

    public = {name: getattr(jaxspec, name) for name in jaxspec.__all__}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report, tests = [], []
    for obj in public.values():  # a public module's examples (presets) may use its own public names
        own = {n: getattr(obj, n) for n in getattr(obj, "__all__", ())} if inspect.ismodule(obj) else {}
        for test in (t for t in doctest.DocTestFinder().find(obj) if t.examples):
            test.globs = {"jaxspec": jaxspec, **public, **own}
            runner.run(test, out=report.append)
            tests.append(test)
    assert len(tests) >= 20 and runner.failures == 0, "".join(report)
