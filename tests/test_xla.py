"""Each XLA workaround of ``jaxspec._xla``: still needed, and still working.

These tests read the compiled program (no timing): a test of the form "XLA still
needs it" failing means the trick can be removed; "the trick works" failing means
XLA changed and the trick must be redone (the measured slowdowns are in ``_xla``).
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jaxspec
from jaxspec import _xla
from jaxspec.augmentation import shift
from jaxspec.spectrum import frames

# Canaries of XLA CPU's behaviour behind the CPU-only workarounds of _xla (chosen with
# lax.platform_dependent, their costs measured on XLA:CPU): on an H200 none of them applies
# (no a * b + c contraction, no row-block loop, other fusions), and benchmarks/gpu.py's G6
# times the library against a plain vmap there.
CPU_CANARY = pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="checks XLA:CPU's fusion or contraction behind a CPU-only workaround of _xla"
)

WS, HOP, N = 400, 133, 121
LENGTH = (N - 1) * HOP + WS


def _costly(x):
    return lax.erf_inv(jnp.tanh(x) * 0.9)  # an elementwise transform with a telltale op


def _gather_fusion_has_tanh(fn, *args) -> bool:
    text = jax.jit(fn).lower(*args).compile().as_text()
    computations = re.split(r"\n(?=\S.*\{\s*$)", text, flags=re.M)
    return any("gather(" in c and "tanh" in c for c in computations)


def _framed(barrier):
    def one(x, key):
        y = barrier(_costly(x), key)
        return jnp.sum(frames(y, WS, HOP, N), axis=-1)

    return jax.vmap(one)


@pytest.fixture(scope="module")
def batch():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 16000)), jnp.float32)
    return x, jax.random.split(jax.random.key(0), 4)


@CPU_CANARY
def test_materialize_is_needed_and_works_in_batches(batch):
    plain = _framed(lambda y, key: y)
    barrier = _framed(lambda y, key: _xla.materialize(y, LENGTH, key))
    assert _gather_fusion_has_tanh(plain, *batch), "XLA no longer fuses into the frame gather: drop materialize"
    assert not _gather_fusion_has_tanh(barrier, *batch), "materialize no longer stops the fusion"
    _assert_same(np.asarray(jax.jit(plain)(*batch)), np.asarray(jax.jit(barrier)(*batch)))


def _assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Bit for bit (jax 0.10 and later, tested); within float32 rounding before (jax 0.7's XLA
    rounded the fused tanh apart in the last bit)."""
    if tuple(int(p) for p in jax.__version__.split(".")[:2]) >= (0, 10):
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


@CPU_CANARY
def test_one_signal_is_held_as_materialize_is_folded_there():
    # Unbatched, XLA simplifies materialize's full-size update away and fuses anyway (a drawn
    # gain on one signal cost 5x a fixed one); spectrogram_one holds one signal in a loop.
    x, key = jnp.zeros(16000), jax.random.key(0)

    def one(x, key):
        return jnp.sum(frames(_xla.materialize(_costly(x), LENGTH, key), WS, HOP, N), axis=-1)

    def held(x, key):
        y = _xla.held(jnp.pad(_costly(x), (0, LENGTH - x.shape[0])), _xla.runtime_zero(key))
        return jnp.sum(frames(y, WS, HOP, N), axis=-1)

    assert _gather_fusion_has_tanh(one, x, key), "materialize now holds unbatched: drop the held form"
    assert not _gather_fusion_has_tanh(held, x, key), "held no longer stops the fusion"
    np.testing.assert_array_equal(np.asarray(jax.jit(one)(x, key)), np.asarray(jax.jit(held)(x, key)))


@CPU_CANARY  # on an H200 XLA:GPU fuses the hash into the gather (since unit_affine); untimed there
@pytest.mark.parametrize("shape", [(52000,), (1, 52000)])
def test_a_drawn_gain_is_computed_once_for_one_signal_or_a_batch_of_one(shape):
    # A batch of one (encode's ladder row) is computed as one signal; either way the gain's
    # hashes stay out of the frame gather (they ran per read: 1.13 ms vs 0.20 ms fixed).
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    x = jnp.zeros(shape, jnp.float32)
    text = jax.jit(jaxspec.spectrogram).lower(config, x, jax.random.key(0)).compile().as_text()
    computations = re.split(r"\n(?=\S.*\{\s*$)", text, flags=re.M)
    assert not any("gather(" in c and "threefry" in c.lower() for c in computations)
    assert not any("gather(" in c and "shift-right-logical" in c for c in computations)


def test_unfused_is_needed_and_works(batch):
    # White noise then a time shift, per row: the shift's per-row slice is a gather.
    x, _ = batch
    shifts = jnp.asarray([5, -7, 0, 300], jnp.int32)

    def shifted(transform):
        return jax.vmap(lambda row, s: shift(transform(row), s))

    plain = shifted(_costly)
    looped = shifted(lambda v: _xla.unfused(_costly, v, jnp.float32))
    assert _gather_fusion_has_tanh(plain, x, shifts), "XLA no longer fuses into the shift's gather: drop unfused"
    assert not _gather_fusion_has_tanh(looped, x, shifts), "unfused no longer keeps the transform out of the gather"
    np.testing.assert_array_equal(np.asarray(jax.jit(plain)(x, shifts)), np.asarray(jax.jit(looped)(x, shifts)))


def _sample_fusion_has_tanh(fn, *args, size: int) -> bool:
    """Whether a fusion producing ``size`` samples computes a tanh (a per-item value recomputed per sample)."""
    text = jax.jit(fn).lower(*args).compile().as_text()
    computations = re.split(r"\n(?=\S.*\{\s*$)", text, flags=re.M)
    fusions = [c for c in computations if c.lstrip().startswith("%fused")]  # not ENTRY: it names fusions
    return any(f"-> f32[{size}]" in c.splitlines()[0] and " tanh(" in c for c in fusions)


def test_held_is_needed_and_works():
    # Per-item values (a costly transform of 64 numbers) spread over 20000 samples by a gather.
    size = 20000
    item = jnp.asarray(np.repeat(np.arange(64), -(-size // 64))[:size], jnp.int32)
    per_item = jnp.linspace(-1.0, 1.0, 64, dtype=jnp.float32)
    x = jnp.ones(size, jnp.float32)
    zero = jnp.zeros((), jnp.int32)

    def spread(barrier):
        return lambda x, v, item, zero: x * barrier(_costly(v), zero)[item]

    plain, held = spread(lambda v, zero: v), spread(_xla.held)
    assert _sample_fusion_has_tanh(plain, x, per_item, item, zero, size=size), "XLA no longer fuses per item: drop held"
    assert not _sample_fusion_has_tanh(held, x, per_item, item, zero, size=size), "held no longer stops the fusion"
    np.testing.assert_array_equal(
        np.asarray(jax.jit(plain)(x, per_item, item, zero)), jax.jit(held)(x, per_item, item, zero)
    )


@CPU_CANARY
def test_compiled_is_needed_and_works():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(4096).astype(np.float32) for _ in range(3))
    fused = np.asarray(jax.jit(lambda a, b, c: a * b + c)(a, b, c))
    op_by_op = np.asarray(jnp.add(jnp.multiply(a, b), c))
    assert (fused != op_by_op).any(), "XLA no longer contracts a * b + c: _xla.compiled may be unnecessary"
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=jaxspec.Normal(1.0, 0.3)))
    key = jax.random.key(3)
    eager = jaxspec.draw(config, key, 16000)
    inside = jax.jit(lambda k: jaxspec.draw(config, k, 16000))(key)
    assert {k: np.asarray(v).tobytes() for k, v in eager.items()} == {
        k: np.asarray(v).tobytes() for k, v in inside.items()
    }


def test_varying_zeros_is_needed_and_works():
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:1]), ("b",))
    spec = jax.sharding.PartitionSpec("b")

    def carry_loop(zeros):
        def local(x):
            return lax.fori_loop(0, 2, lambda i, out: out + x, zeros(x))

        return jax.shard_map(local, mesh=mesh, in_specs=spec, out_specs=spec)

    x = jnp.ones((2, 8))
    with pytest.raises(Exception):  # noqa: B017 - jax's type error for a non-varying carry
        jax.jit(carry_loop(lambda x: jnp.zeros(x.shape)))(x)
    out = jax.jit(carry_loop(lambda x: _xla.varying_zeros(x, x.shape, jnp.float32)))(x)
    np.testing.assert_array_equal(np.asarray(out), 2 * np.ones((2, 8)))


def _compiled_text(config, x):
    return jax.jit(lambda x: jaxspec.spectrogram(config, x)).lower(x).compile().as_text()


@CPU_CANARY
@pytest.mark.parametrize(
    "shape, plan",
    [((40, 32000), "groups"), ((80, 64000), "blocks")],  # 15 MiB of FFT input: groups; 59 MiB: a loop
)
def test_map_rows_in_groups_or_blocks_equals_one_vmap(shape, plan):
    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))
    rows, length = shape
    x = jnp.asarray(np.random.default_rng(0).standard_normal(shape), jnp.float32)
    key = jax.random.key(0)
    lengths = jnp.asarray(np.random.default_rng(1).integers(0, length + 1, rows), jnp.int32)
    mapped = jaxspec.spectrogram(config, x, key, lengths=lengths)
    keys = jax.random.split(key, rows)
    one = jax.jit(jax.vmap(lambda r, k, n: jaxspec.spectrogram(config, r[None], k[None], lengths=n[None])[0]))
    np.testing.assert_array_equal(np.asarray(mapped), np.asarray(one(x, keys, lengths)))
    text = _compiled_text(jaxspec.SpectrogramConfig(), x)
    assert ("while" in text) == (plan == "blocks")  # the planned path was taken
    assert text.count(" fft(") == (1 if plan == "blocks" else len(_xla.row_groups(rows, 241 * 400, 241 * 1600)) - 1)


@CPU_CANARY
def test_map_rows_groups_are_sized_in_frame_samples_and_fft_bytes():
    # librosa's default mel: frames of 2048 samples; 64 x 1 s is 4.2 M frame samples, past two
    # blocks: 6 groups (a loop of 3 blocks before, 1.4x slower); W1's 64 x 1 s with frames of 400,
    # 3.1 M, stays one vmap. Kaldi's 64 x 3 s (FFT input 512 samples, 2 preprocessing copies:
    # 112 MiB) keeps the loop, as does Whisper's 8 x 30 s (37 MiB).
    x = jnp.asarray(np.random.default_rng(2).standard_normal((64, 16000)), jnp.float32)
    config = jaxspec.presets.librosa_melspectrogram(sr=16000)
    text = _compiled_text(config, x)
    assert "while" not in text and text.count(" fft(") == 6
    w1 = _compiled_text(jaxspec.SpectrogramConfig(), x)
    assert "while" not in w1 and w1.count(" fft(") == 1
    one = jax.jit(jax.vmap(lambda r: jaxspec.spectrogram(config, r[None])[0]))
    np.testing.assert_array_equal(np.asarray(jaxspec.spectrogram(config, x)), np.asarray(one(x)))
    kaldi = _compiled_text(jaxspec.presets.kaldi_fbank(), jnp.zeros((64, 48000)))
    assert "while" in kaldi and kaldi.count(" fft(") == 1
    whisper = _compiled_text(jaxspec.presets.whisper(), jnp.zeros((8, 480000)))
    assert "while" in whisper and whisper.count(" fft(") == 1
    # sized by the frames of the output: Whisper pads 1 s clips to 30 s (84 x 1 s were 5 groups
    # of 394 MiB of temporaries when sized by the input's 100 frames; 9 MiB in the loop)
    short = _compiled_text(jaxspec.presets.whisper(), jnp.zeros((84, 16000)))
    assert "while" in short and short.count(" fft(") == 1


@pytest.mark.parametrize(
    "rows, samples_per_row, groups",
    [(64, 32 * 2048, 6), (40, 241 * 400, 5), (128, 121 * 400, 8), (3, 3000 * 400, 3), (64, 121 * 400, None)],
)
def test_row_groups_are_even_and_within_the_group_budget(rows, samples_per_row, groups):
    bounds = _xla.row_groups(rows, samples_per_row, 4 * samples_per_row)
    assert (None if bounds is None else len(bounds) - 1) == groups
    if bounds is not None:
        sizes = np.diff(bounds)
        assert bounds[0] == 0 and bounds[-1] == rows and sizes.max() - sizes.min() <= 1
        assert (sizes.max() - 1) * samples_per_row <= _xla.GROUP_SAMPLES  # no group larger than it needs


def test_augmented_rows_are_never_grouped_alone(monkeypatch):
    """A group of one augmented row is one signal, whose drawn shift XLA fused into the frame
    gather: 8 x 16 s with a drawn time shift took 191 ms in groups of one row, 15.5 ms in pairs."""
    assert _xla.row_groups(3, 3000 * 400, 4) == [0, 1, 2, 3]  # keyless: a row each
    assert _xla.row_groups(3, 3000 * 400, 4, least=2) is None  # a loop over blocks of two instead
    bounds = _xla.row_groups(8, 1971 * 400, 4, least=2)
    assert bounds is not None and np.diff(bounds).min() >= 2
    seen = []
    real = _xla.row_groups
    monkeypatch.setattr(_xla, "row_groups", lambda *args: seen.append(args[-1]) or real(*args))
    shifted = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(time_shift=(-0.1, 0.1)))
    x = np.zeros((8, 4013), np.float32)  # a shape no other test traces (a cached program calls nothing)
    jaxspec.spectrogram(shifted, x, jax.random.key(0))
    jaxspec.spectrogram(shifted, x)  # no key: nothing drawn
    assert seen == [2, 1]
    # blocks too: rows past the block budget alone were blocks of one (8 x 30 s shifted: 791 ms, 41 in pairs)
    monkeypatch.setattr(_xla, "row_groups", lambda *args: None)  # rows of 10**9 samples: blocks of one each
    xs = jnp.arange(12.0).reshape(3, 4)
    for least in (1, 2):
        rows = functools.partial(_xla.map_rows, jnp.cumsum, rows=3, samples_per_row=10**9, bytes_per_row=4, least=least)
        assert f"slice_sizes=({least}, 4)" in str(jax.make_jaxpr(rows)(xs))
        np.testing.assert_array_equal(jax.jit(rows)(xs), jnp.cumsum(xs, 1))


def test_row_groups_give_way_to_blocks_past_the_byte_budget_and_to_one_vmap_below_two_blocks():
    per_row = _xla.GROUP_BATCH_BYTES // 100
    assert _xla.row_groups(100, 10**5, per_row) is not None
    assert _xla.row_groups(101, 10**5, per_row) is None
    two_blocks = 2 * _xla.BLOCK_SAMPLES
    assert _xla.row_groups(2, two_blocks // 2, 4) is None
    assert _xla.row_groups(2, two_blocks // 2 + 1, 4) == [0, 1, 2]


@pytest.mark.parametrize(
    "rows, samples_per_row", [(64, 32 * 2048), (40, 241 * 400), (1000, 10**6), (7, 3 * 10**6), (33, 120_000)]
)
def test_row_blocks_are_the_fewest_within_the_budget_and_even(rows, samples_per_row):
    per_block = _xla.block_rows(rows, samples_per_row)
    assert per_block is not None
    fewest = -(-rows // max(1, _xla.BLOCK_SAMPLES // samples_per_row))
    assert -(-rows // per_block) == fewest  # no more blocks than the budget needs
    assert per_block * samples_per_row <= max(_xla.BLOCK_SAMPLES, samples_per_row)
    assert per_block * fewest - rows < fewest  # rows recomputed by the last block: fewer than one per block


def test_a_batch_polymorphic_export_runs_as_the_jitted_call():
    """jax.export with a symbolic batch ("b") failed in jaxspec's host checks (the output-size
    cap and the CPU row plan compared b with numbers: InconclusiveDimensionOperation); serving a
    model exports it so (an audit)."""
    from jax import export

    config = jaxspec.SpectrogramConfig(
        augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.05, 0.05))
    )
    f = jax.jit(lambda x, k, n: jaxspec.spectrogram(config, x, k, lengths=n))
    (b,) = export.symbolic_shape("b")
    key_type = jax.random.key(0).dtype
    args = (jax.ShapeDtypeStruct((b, 16000), jnp.float32), jax.ShapeDtypeStruct((b,), key_type))
    exported = export.export(f)(*args, jax.ShapeDtypeStruct((b,), jnp.int32))
    for rows in (1, 3):
        x = np.random.default_rng(rows).standard_normal((rows, 16000)).astype(np.float32)
        keys, lengths = jax.random.split(jax.random.key(1), rows), jnp.array([16000, 9000, 100][:rows])
        np.testing.assert_array_equal(np.asarray(exported.call(x, keys, lengths)), np.asarray(f(x, keys, lengths)))
    plain = export.export(jax.jit(lambda x: jaxspec.spectrogram(jaxspec.SpectrogramConfig(), x)))(args[0])
    assert plain.out_avals[0].shape[1:] == (121, 201)
