"""Every docstring example in the package runs as a user pastes it: in an empty namespace.

``pytest --doctest-modules`` runs an example in its module's globals, where the module's own
imports (``jax``, ``np``, the names it defines) resolve; a user pasting it into a fresh Python
has only what the example itself imports. Here each example gets empty globals instead.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import pkgutil
import warnings

import pytest

import jaxspec

# the optional extras (pyproject's optional dependencies) a module or an example may need
OPTIONAL = {"apache_beam", "grain", "matplotlib", "tqdm", "optax", "flax", "equinox"}


def _modules() -> list[tuple[str, object]]:
    """(name, module or the reason it is skipped) for every module of the package."""
    found = [("jaxspec", jaxspec)]
    for info in pkgutil.walk_packages(jaxspec.__path__, "jaxspec."):
        if info.name.rsplit(".", 1)[-1] == "__main__":  # importing it runs the CLI (pytest skips it too)
            continue
        try:
            found.append((info.name, importlib.import_module(info.name)))
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] not in OPTIONAL:
                raise
            found.append((info.name, f"{info.name} needs the missing optional {error.name}"))
    return found


def _params() -> list:
    params = []
    for name, module in _modules():
        if isinstance(module, str):
            params.append(pytest.param(None, id=name, marks=pytest.mark.skip(reason=module)))
            continue
        # the module's own docstrings only (the finder leaves out the objects it imports); empty globals
        for test in doctest.DocTestFinder().find(module, globs={}):
            if test.examples:  # a docstring without ``>>>`` gives a test with nothing to run
                params.append(pytest.param(test, id=test.name))
    return params


PARAMS = _params()


class _Runner(doctest.DocTestRunner):
    """A ``DocTestRunner`` that also keeps the exceptions the examples raised unexpectedly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raised: list[BaseException] = []

    def report_unexpected_exception(self, out, test, example, exc_info):
        self.raised.append(exc_info[1])
        super().report_unexpected_exception(out, test, example, exc_info)


def test_the_package_has_docstring_examples():
    assert len(PARAMS) >= 70, len(PARAMS)


@pytest.mark.parametrize("test", PARAMS)
def test_a_docstring_example_runs_in_an_empty_namespace(test, tmp_path, monkeypatch):
    assert test.globs == {"__name__": "__main__"}, sorted(test.globs)  # as in a fresh interpreter
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = _Runner(optionflags=doctest.ELLIPSIS)  # pytest's default doctest_optionflags (pyproject sets none)
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.run(test, out=report.write)
    missing = {name for name in OPTIONAL if importlib.util.find_spec(name) is None}
    for error in runner.raised:  # an example of an optional extra that is not installed (plot without matplotlib)
        if isinstance(error, ImportError):
            for name in missing:
                if (error.name or "").split(".")[0] == name or name in str(error):
                    pytest.skip(f"{test.name} needs the missing optional {name}")
    assert runner.failures == 0, report.getvalue()
