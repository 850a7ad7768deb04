"""Shared fixtures: a PRNG key, small test signals, and the eager == jit == vmap check."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np
import pytest

# Run by hand with the reference libraries (torch, torchaudio, whisper, ...), not by pytest.
collect_ignore = ["make_feature_references.py"]

# The CLI turns on JAX's persistent compilation cache in ~/.cache; in-process CLI tests would turn
# it on for the whole session (and write into the user's cache). Tests of the cache itself run the
# CLI in subprocesses with their own cache folder.
os.environ["JAXSPEC_COMPILE_CACHE"] = "0"

# Under pytest-xdist (the README's test command: -n auto) workers share the machine: on a GPU, JAX's
# default preallocation of 75 % of its memory in each process would starve the others. Read when
# the backend starts, after this import.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

# No per-example deadline by default (tests that set their own settings say deadline=None too):
# on 2 shared cores under xdist, a fast example can pass hypothesis' 200 ms through a GC pause or a
# neighbour's compile, and fail as DeadlineExceeded / Flaky (a timed test in disguise).
hypothesis.settings.register_profile("jaxspec", deadline=None)
hypothesis.settings.load_profile("jaxspec")

ROOT = Path(__file__).resolve().parent.parent


def child_env(**overrides: str) -> dict[str, str]:
    """``os.environ`` for a subprocess that imports jaxspec from this checkout: the repository
    first on ``PYTHONPATH``, the caller's entries kept (an accelerator image without soundfile
    carries it as wheels on ``PYTHONPATH``), then ``overrides``."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **overrides)


RTOL = 1e-5  # SPEC section 4: eager / jit / vmap agree within relative 1e-5


def relative_error(out: Any, ref: Any) -> float:
    """``||out - ref|| / ||ref||`` in float64 (absolute error when ``ref`` is all zero)."""
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    scale = np.linalg.norm(ref)
    return float(np.linalg.norm(out - ref) / (scale if scale > 0 else 1.0))


def _batch_of(x: jax.Array, batch: int) -> jax.Array:
    """``batch`` different rows made from ``x``: x, reversed x, x / 2, ..."""
    rows = [x, x[::-1], 0.5 * x]
    return jnp.stack(rows[:batch])


def assert_eager_jit_vmap_equal(
    fn: Callable[[Any, jax.Array, jax.Array | None], jax.Array],
    config: Any,
    x: Any,
    key: jax.Array | None = None,
    rtol: float = RTOL,
) -> None:
    """Asserts that ``fn(config, x, key)`` gives the same result eager, jitted and vmapped.

    * eager == ``jax.jit(fn)`` within relative ``rtol``;
    * two calls of one compiled function are bit-identical;
    * for batch sizes 1 and 3, ``jax.jit(jax.vmap(fn))`` (and, for 3, the un-jitted
      ``jax.vmap(fn)``) over different rows, and over ``jax.random.split(key, B)`` when a
      key is given, equals each row computed alone (by the compiled function, itself
      checked against eager above).

    Args:
      fn: a function ``(config, x [shape=(L,)], key or None) -> array``.
      config: passed unchanged (its static fields live in the treedef).
      x: one signal ``[shape=(L,)]``.
      key: a PRNG key or ``None``.
    """
    x = jnp.asarray(x)
    eager = np.asarray(fn(config, x, key))
    compiled = jax.jit(fn)
    first, second = np.asarray(compiled(config, x, key)), np.asarray(compiled(config, x, key))
    assert np.isfinite(eager).all()
    np.testing.assert_array_equal(first, second, err_msg="repeated calls of one compiled function differ")
    assert relative_error(first, eager) < rtol, "jit != eager"
    for batch in (1, 3):
        xs = _batch_of(x, batch)
        keys = None if key is None else jax.random.split(key, batch)
        vmapped = jax.vmap(fn, in_axes=(None, 0, None if key is None else 0))
        outputs = {"jit(vmap)": jax.jit(vmapped)(config, xs, keys)}
        if batch > 1:  # un-jitted vmap compiles op by op: once is enough
            outputs["vmap"] = vmapped(config, xs, keys)
        for i in range(batch):
            alone = np.asarray(compiled(config, xs[i], None if keys is None else keys[i]))
            for name, out in outputs.items():
                assert out.shape == (batch, *eager.shape), (name, out.shape)
                assert relative_error(out[i], alone) < rtol, f"{name} row {i} of {batch} != the row alone"


@pytest.fixture(name="assert_eager_jit_vmap_equal")
def _assert_eager_jit_vmap_equal_fixture() -> Callable[..., None]:
    """The helper above, as a fixture (no import of conftest needed)."""
    return assert_eager_jit_vmap_equal


@pytest.fixture(name="relative_error")
def _relative_error_fixture() -> Callable[[Any, Any], float]:
    return relative_error


@pytest.fixture(autouse=True)
def _warnings_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some warnings come once per process (``errors.first_time``: empty mel filters, a low rate):
    each test starts as a fresh process would, whatever configs the tests before it on its worker made."""
    from jaxspec import errors

    monkeypatch.setattr(errors, "_SEEN", set())


@pytest.fixture
def key() -> jax.Array:
    return jax.random.key(0)


@pytest.fixture
def sine() -> Callable[..., np.ndarray]:
    """``sine(freq_hz, n, sample_rate=16000, amplitude=0.5, phase=0.3)`` -> float32 ``[n]``."""

    def make(freq: float, n: int, sample_rate: int = 16000, amplitude: float = 0.5, phase: float = 0.3) -> np.ndarray:
        t = np.arange(n) / sample_rate
        return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)

    return make


@pytest.fixture
def noise() -> Callable[..., np.ndarray]:
    """``noise(shape, seed=0, scale=0.3)`` -> float32 Gaussian noise (reproducible)."""

    def make(shape: int | tuple[int, ...], seed: int = 0, scale: float = 0.3) -> np.ndarray:
        return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)

    return make


@pytest.fixture
def trace_events() -> list[str]:
    """Names of the JAX tracing / compilation events recorded while the test runs."""
    events: list[str] = []

    def listen(name: str, *args: Any, **kwargs: Any) -> None:
        if "trace" in name or "compile" in name:
            events.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    yield events
    unregister = getattr(jax.monitoring, "unregister_event_duration_listener", None)
    if unregister is None:  # jax 0.7 has only the private form
        from jax._src import monitoring

        unregister = monitoring._unregister_event_duration_listener_by_callback
    unregister(listen)
