"""Hypothesis over accepted and rejected forms of every config field, augmentation parameter,
input dtype / shape and file oddity (issue 14; SPEC section 5).

Every call either returns a finite float32 array of the documented shape (equal to a float64
NumPy reference written here, relative error < 1e-5, when no key applies augmentation) or
raises a jaxspec error (``JaxspecError``, or ``FileNotFoundError`` for a missing file):
anything else is a raw exception and fails the test.

Profiles. CI runs a modest one (a few distinct configs, since each compiles: well under a
minute on 2 cores). ``HYPOTHESIS_PROFILE=fuzz`` runs the long one: >= 10,000 examples over
at most a few hundred distinct configs; the counts are printed at the end of the module and
written to ``$JAXSPEC_FUZZ_REPORT`` (JSON) when it is set::

    HYPOTHESIS_PROFILE=fuzz JAXSPEC_FUZZ_REPORT=fuzz.json python -m pytest tests/test_fuzz.py -q -s
"""

from __future__ import annotations

import collections
import json
import math
import os
import struct
import warnings

import jax
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxspec
import jaxspec.cli
from jaxspec import (
    Augmentation,
    Convolution,
    JaxspecError,
    LogUniform,
    Noise,
    Normal,
    Scaled,
    SpectrogramConfig,
    TimeShift,
    Uniform,
    Volume,
    limits,
)
from jaxspec.errors import TruncatedAudioWarning

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = (
    {"fields": 3000, "augmentation": 2500, "inputs": 5500, "files": 1000}
    if FUZZ
    else {"fields": 150, "augmentation": 120, "inputs": 60, "files": 30}
)
CONFIG_POOL = 200 if FUZZ else 3
"""Distinct configs the input tests compile (each compiles once per input shape)."""
LENGTHS = (0, 1, 37, 2500)
ALLOWED = (JaxspecError, FileNotFoundError)

COUNTS: collections.Counter = collections.Counter()
FINDINGS: list[str] = []


def _settings(name: str):
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        derandomize=not FUZZ,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    summary = {"profile": "fuzz" if FUZZ else "ci", "counts": dict(sorted(COUNTS.items())), "findings": FINDINGS}
    print("\nfuzz summary:", json.dumps(summary, indent=1))
    path = os.environ.get("JAXSPEC_FUZZ_REPORT")
    if path:
        with open(path, "w") as file:
            json.dump(summary, file, indent=1)


def _outcome(kind: str, fn):
    """Runs ``fn``; counts accepted / rejected; a non-jaxspec exception is a raw one (a failure)."""
    COUNTS[f"{kind}: examples"] += 1
    try:
        value = fn()
    except ALLOWED as error:
        COUNTS[f"{kind}: rejected ({type(error).__name__})"] += 1
        return error
    except Exception as error:  # noqa: BLE001 - what the suite hunts for
        COUNTS[f"{kind}: RAW EXCEPTION"] += 1
        FINDINGS.append(f"{kind}: {type(error).__name__}: {error}"[:300])
        raise AssertionError(f"raw exception {type(error).__name__}: {error}") from error
    COUNTS[f"{kind}: accepted"] += 1
    return value


# ------------------------------------------------------------------ value forms
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.binary(max_size=4),
    st.just(object()),
    st.just({}),
    st.just([]),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(-3, 3), max_size=3),
    st.just(np.float32(1.5)),
    st.just(np.int64(400)),
    st.just(np.array(3)),
)
_INTS = st.one_of(
    st.integers(-(10**4), 10**5),
    st.sampled_from([0, 1, 2**20, 2**20 + 1, 2**26, 2**31, 10**9, 10**15, 10**30, -(2**31)]),
)
_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(1e-6, 10.0),
    st.sampled_from([0.0, -0.0, 1e-300, 1e12, 1e300, -1e300, 0.025, 0.5, float("nan"), float("inf")]),
)
_DURATIONS = st.one_of(
    st.sampled_from(
        ["25ms", "0.5s", "1min", "10 ms", "abc", "", "-10ms", "1e400s", "-1e400s", "nan", "all", "0s", "3us"]
    ),
    st.text(max_size=6),
)
_SIZE = st.one_of(_INTS, _FLOATS, _DURATIONS, _ODD)
_VALID = {
    "sample_rate": st.sampled_from([8000, 16000, 22050, 44100]),
    "window_size": st.one_of(st.integers(1, 2048), st.floats(0.001, 0.1), st.sampled_from(["25ms", "32ms", "0.01s"])),
    "offset": st.one_of(st.integers(1, 1000), st.floats(0.001, 0.05), st.sampled_from(["10ms", "5ms"])),
    "window_function": st.sampled_from(["hann", "hamming", "blackman", "bartlett", "rectangular", None, "flattop"]),
    "normalization": st.one_of(
        st.none(), st.just("max"), st.tuples(st.sampled_from(["max", "rms"]), st.floats(0.01, 100.0))
    ),
    "target_length": st.one_of(st.none(), st.integers(1, 500), st.floats(0.01, 2.0), st.just("1s")),
    "power": st.floats(0.1, 4.0),
    "fft_size": st.one_of(st.none(), st.integers(2048, 4096)),
}
_ANY = {
    "sample_rate": st.one_of(st.sampled_from([4_000_000, 4_000_001]), _INTS, _FLOATS, _ODD),
    "window_size": _SIZE,
    "offset": _SIZE,
    "window_function": st.one_of(
        st.sampled_from(["none", "nope", "HANN"]),
        st.lists(st.floats(-2, 2), min_size=0, max_size=5),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=3),
        st.just(lambda n: np.ones(n)),
        st.just(lambda n: np.full(n, 1e30)),
        st.just(lambda n: 1 / 0),
        _ODD,
    ),
    "normalization": st.one_of(
        st.sampled_from(["rms", "MAX", "peak"]),
        st.tuples(st.sampled_from(["max", "rms", "x", ""]), st.one_of(_FLOATS, _INTS, _ODD)),
        st.lists(st.floats(-1, 1), max_size=3),
        _ODD,
    ),
    "target_length": _SIZE,
    "power": st.one_of(_FLOATS, st.sampled_from([1, 2, 0.5, 8, 8.5, 100]), _ODD),
    "fft_size": st.one_of(_INTS, _FLOATS, _ODD),
}
# Half of the forms are valid ones, so that accepted configs are common too.
FIELD_FORMS = {name: st.one_of(_VALID[name], _VALID[name], _ANY[name]) for name in _VALID}


def _check_accepted_config(config: SpectrogramConfig) -> None:
    assert 0 < config.sample_rate <= limits.MAX_SAMPLE_RATE
    assert 0 < config.window_samples <= limits.MAX_WINDOW_SAMPLES
    assert 0 < config.offset_samples <= limits.MAX_OFFSET_SAMPLES
    assert config.window_samples <= config.fft_samples <= max(limits.MAX_FFT_SIZE, limits.MAX_WINDOW_SAMPLES)
    assert config.window.shape == (config.window_samples,) and np.isfinite(config.window).all()
    assert limits.worst_case(config, 1.0, limits.MAX_SIGNAL_SAMPLES)[0] <= limits.FLOAT32_BUDGET
    if config.target_frames is not None:
        assert config.target_frames * config.num_bins <= limits.MAX_OUTPUT_VALUES
    if config.target_samples is not None:
        assert config.target_samples <= limits.MAX_TARGET_SAMPLES
    assert config.num_frames(1000) >= 0


@_settings("fields")
@given(values=st.fixed_dictionaries({}, optional=FIELD_FORMS))
def test_config_fields_are_accepted_or_rejected_with_a_config_error(values):
    config = _outcome("config fields", lambda: SpectrogramConfig(**values))
    if isinstance(config, SpectrogramConfig):
        _check_accepted_config(config)
        if not callable(config.window_function):
            again = _outcome("config round trip", lambda: SpectrogramConfig.from_dict(json.loads(config.to_json())))
            assert again == config
    json_values = {k: v for k, v in values.items() if isinstance(v, (int, float, str, list, type(None), dict))}
    loaded = _outcome("config from_dict", lambda: SpectrogramConfig.from_dict(json_values))
    if isinstance(loaded, SpectrogramConfig):
        _check_accepted_config(loaded)


# ------------------------------------------------------------------ augmentation parameters
_NUMBER = st.one_of(_FLOATS, st.integers(-(10**6), 10**6), st.sampled_from([1e4, 1e4 + 1, -1e4, 1e39, 1e30]))


class _Lazy:
    """A constructor call made inside the test (hypothesis must not see its exceptions while drawing)."""

    def __init__(self, cls, args):
        self.cls, self.args = cls, args

    def __repr__(self):
        return f"{self.cls.__name__}{self.args!r}"


def _lazy(cls, *strategies):
    return st.tuples(*strategies).map(lambda args: _Lazy(cls, args))


def _make(value):
    if isinstance(value, _Lazy):
        return value.cls(*(_make(a) for a in value.args))
    if isinstance(value, tuple):
        return tuple(_make(v) for v in value)
    return value


_DISTRIBUTION = st.one_of(
    _lazy(Uniform, _NUMBER, _NUMBER),
    _lazy(Normal, _NUMBER, _NUMBER),
    _lazy(LogUniform, _NUMBER, _NUMBER),
)
_PARAM = st.one_of(
    _NUMBER,
    st.tuples(_NUMBER, _NUMBER),
    st.tuples(_NUMBER, _NUMBER, _NUMBER),
    _DISTRIBUTION,
    st.just(lambda key: jax.random.uniform(key)),
    _ODD,
    st.text(max_size=4),
)
_SIGNAL = st.one_of(
    st.sampled_from(
        [
            np.zeros(0, np.float32),
            np.float32(0.5),
            np.ones((5, 0), np.float32),
            np.array([np.nan, 1.0], np.float32),
            np.full(8, 1e20, np.float32),
            np.arange(12, dtype=np.int16),
            np.ones((4, 2), np.float32),
            np.ones(3, bool),
            "/nonexistent/noise.wav",
            b"noise.wav",
        ]
    ),
    st.lists(st.floats(-1, 1), min_size=1, max_size=6).map(lambda v: np.asarray(v, np.float32)),
    _ODD,
)


def _stage_value(stage: str):
    if stage == "volume":
        return st.one_of(_PARAM, _lazy(Volume, _PARAM))
    if stage == "noise":
        return st.one_of(_PARAM, _SIGNAL, st.tuples(_PARAM, _SIGNAL), _lazy(Noise, _PARAM, _SIGNAL))
    if stage == "time_shift":
        return st.one_of(_PARAM, _lazy(Scaled, _PARAM), _lazy(TimeShift, _PARAM))
    return st.one_of(_SIGNAL, st.tuples(_PARAM, _SIGNAL), _lazy(Convolution, _SIGNAL, _PARAM))


@_settings("augmentation")
@given(data=st.data(), stage=st.sampled_from(["volume", "noise", "time_shift", "convolution"]))
def test_augmentation_parameters_are_accepted_or_rejected_with_a_config_error(data, stage):
    value = data.draw(_stage_value(stage), label=stage)

    def build():
        return SpectrogramConfig(augmentation=Augmentation(**{stage: _make(value)}))

    config = _outcome("augmentation", build)
    if isinstance(config, SpectrogramConfig):
        _check_accepted_config(config)


# ------------------------------------------------------------------ inputs vs the float64 reference
def _config_pool(n: int) -> list[SpectrogramConfig]:
    """``n`` valid configs drawn with a fixed seed (the only configs the input tests compile)."""
    rng = np.random.default_rng(14)
    pool = [
        SpectrogramConfig(),
        SpectrogramConfig(window_size=64, offset=20, fft_size=100, normalization="max", power=1.0),
        SpectrogramConfig(
            sample_rate=8000,
            window_size="8ms",
            target_length=7,
            augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01, time_shift=Scaled((-0.2, 0.2))),
        ),
    ]
    windows = ["hann", "hamming", "blackman", "bartlett", None, "flattop"]
    while len(pool) < n:
        rate = int(rng.choice([8000, 16000, 22050]))
        window = int(rng.integers(1, 300))
        kwargs = {
            "sample_rate": rate,
            "window_size": window,
            "offset": int(rng.integers(1, 2 * window + 2)),
            "window_function": windows[int(rng.integers(len(windows)))],
            "power": float(rng.choice([0.5, 1.0, 2.0, 3.0])),
        }
        if rng.random() < 0.4:
            kwargs["fft_size"] = window + int(rng.integers(0, 200))
        if rng.random() < 0.4:
            kwargs["normalization"] = (str(rng.choice(["max", "rms"])), float(rng.choice([0.1, 1.0, 100.0])))
        if rng.random() < 0.3:
            kwargs["target_length"] = int(rng.integers(1, 50)) if rng.random() < 0.5 else float(rng.uniform(0.001, 0.2))
        if rng.random() < 0.5:
            stages = {}
            if rng.random() < 0.6:
                stages["volume"] = (0.1, float(rng.uniform(0.1, 100.0)))
            if rng.random() < 0.5:
                stages["noise"] = (
                    LogUniform(1e-4, 0.5) if rng.random() < 0.5 else Noise(0.3, rng.standard_normal(300) * 0.1)
                )
            if rng.random() < 0.5:
                stages["time_shift"] = Normal(0.0, 0.01) if rng.random() < 0.5 else Scaled((-0.5, 0.5))
            if rng.random() < 0.3:
                stages["convolution"] = Convolution(np.exp(-np.arange(50) / 10.0) * 0.3, mix=(0.0, 1.0))
            if stages:
                kwargs["augmentation"] = Augmentation(**stages)
        pool.append(SpectrogramConfig(**kwargs))
    return pool


POOL = _config_pool(CONFIG_POOL)

_DTYPES = ["float32"] * 6 + ["float64", "float16", "int8", "int16", "int32", "int64", "uint8"] * 2
_DTYPES += ["bool", "complex64", "uint16"]
_SCALES = [0.0, 1e-3, 0.5, 1.0, 1.0, 1.0, 0.1, 10.0, 1e3, 1e6, 1e19, 1e30]


def _pcm_to_float64(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return (x.astype(np.float64) - 128.0) / 128.0
    if x.dtype.kind == "i":
        return x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))
    return x.astype(np.float32).astype(np.float64)


def reference(config: SpectrogramConfig, x: np.ndarray) -> np.ndarray:
    """SPEC section 3, steps 3 and 5-8, in float64 NumPy, for one signal ``[L]`` (no augmentation)."""
    x = np.asarray(x, np.float64)
    if config.normalization is not None and x.size:
        kind, level = config.normalization
        size = np.max(np.abs(x)) if kind == "max" else np.sqrt(np.mean(x * x))
        x = x * (level / size) if size > 0 else np.zeros_like(x)
    if config.target_samples is not None:
        x = np.pad(x, (0, max(0, config.target_samples - x.size)))[: config.target_samples]
    ws, hop = config.window_samples, config.offset_samples
    n = config.target_frames if config.target_frames is not None else -(-x.size // hop)
    padded = np.zeros(max(x.size, (n - 1) * hop + ws, 0))
    padded[: x.size] = x
    frames = np.stack([padded[i * hop : i * hop + ws] for i in range(n)]) if n else np.zeros((0, ws))
    spectrum = np.fft.rfft(frames * config.window, n=config.fft_samples)
    energy = spectrum.real**2 + spectrum.imag**2
    # float32 (XLA flushes subnormals) holds no energy below its smallest normal number: a
    # 1-sample input on a window's zero has |X|**2 ~ 1e-40 -> 0, so its |X|**0.5 is 0, not 1e-10.
    energy[energy < np.finfo(np.float32).tiny] = 0.0
    return energy ** (config.power / 2)


def _compare(out: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert out.dtype == np.float32, what
    if out.shape != ref.shape:
        COUNTS["inputs: WRONG SHAPE"] += 1
        FINDINGS.append(f"{what}: shape {out.shape} != {ref.shape}")
    assert out.shape == ref.shape, what
    if not np.isfinite(out).all():
        COUNTS["inputs: NaN/inf"] += 1
        FINDINGS.append(f"{what}: non-finite output")
    assert np.isfinite(out).all(), what
    scale = np.linalg.norm(ref)
    if scale > 1e-25 and np.isfinite(scale) and np.max(ref) > 1e-30:
        error = float(np.linalg.norm(out.astype(np.float64) - ref) / scale)
        COUNTS["inputs: checked against the reference"] += 1
        if error >= 1e-5:
            COUNTS["inputs: REFERENCE MISMATCH"] += 1
            FINDINGS.append(f"{what}: relative error {error:.3g}")
        assert error < 1e-5, (what, error)


@st.composite
def _inputs(draw):
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = draw(
        st.one_of(
            st.sampled_from(LENGTHS).map(lambda n: (n,)),
            st.sampled_from(LENGTHS).map(lambda n: (n,)),
            st.tuples(st.sampled_from([2]), st.sampled_from(LENGTHS)),
            st.sampled_from([(), (37, 0), (3, 4, 5)]),
        )
    )
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from(_SCALES))
    special = draw(st.sampled_from([None] * 8 + ["nan", "inf"]))
    rng = np.random.default_rng(seed)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    elif dtype.kind == "b":
        x = rng.random(shape) < 0.5
    else:
        with np.errstate(over="ignore"):
            x = (rng.standard_normal(shape) * scale).astype(dtype)
        if special and x.size:
            x.reshape(-1)[int(rng.integers(x.size))] = np.nan if special == "nan" else np.inf
    return x


@_settings("inputs")
@given(config=st.sampled_from(POOL), x=_inputs(), with_key=st.booleans(), seed=st.integers(0, 3))
def test_inputs_give_finite_reference_values_or_an_input_error(config, x, with_key, seed):
    key = jax.random.key(seed) if with_key else None
    what = f"{config!r} x {x.dtype}{list(x.shape)} key={with_key}"
    out = _outcome("inputs (spectrogram)", lambda: np.asarray(jaxspec.spectrogram(config, x, key)))
    if isinstance(out, Exception):
        assert isinstance(out, jaxspec.InputError), what
        bad = x.ndim in (0, 3) or x.dtype.kind in "bcu" and x.dtype != np.uint8
        bad = bad or x.ndim == 2 and x.shape[1] == 0  # [n, 0]: SPEC section 5
        finite = x.dtype.kind != "f" or np.isfinite(x).all()
        assert bad or not finite or np.abs(_pcm_to_float64(x)).max() > 1e3, (what, out)
    else:
        rows = [x] if x.ndim == 1 else list(x)
        refs = [reference(config, _pcm_to_float64(row)) for row in rows]
        ref = refs[0] if x.ndim == 1 else np.stack(refs) if refs else np.zeros((0,))
        if key is None or config.augmentation is None:
            _compare(out, ref, what)
        else:  # augmented: the shape and finiteness (the draws are checked in test_augment)
            _compare(out, np.zeros_like(ref), what)
    if x.ndim == 2 and x.shape[1] > 0:  # encode reads [n, channels]: averaged to mono
        rate = config.sample_rate
        encoded = _outcome(
            "inputs (encode)", lambda: np.asarray(jaxspec.encode(config, x.T.copy(), sample_rate=rate, key=key))
        )
        if not isinstance(encoded, Exception) and (key is None or config.augmentation is None):
            mono = _pcm_to_float64(x).mean(axis=0).astype(np.float32).astype(np.float64)
            if np.isfinite(mono).all():
                _compare(encoded, reference(config, mono), what + " (encode)")


# ------------------------------------------------------------------ file oddities
def _odd_files(folder) -> dict[str, str]:
    """Odd files, one of each kind, and what they are."""
    rng = np.random.default_rng(0)
    tone = (0.3 * np.sin(np.arange(20000) / 7)).astype(np.float32)
    files = {}

    def add(name, data=None):
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        files[name] = str(path)
        return path

    soundfile.write(add("good.wav"), tone, 16000)
    soundfile.write(add("stereo_22k.flac"), np.stack([tone, -tone], 1), 22050)
    soundfile.write(add("empty_audio.wav"), np.zeros(0, np.float32), 16000)
    soundfile.write(add("int32.wav"), tone, 16000, subtype="PCM_32")
    soundfile.write(add("float64.wav"), tone.astype(np.float64) * 3.0, 16000, subtype="DOUBLE")  # outside [-1, 1]
    whole = (folder / "good.wav").read_bytes()
    add("cut_half.wav", whole[: len(whole) // 2])
    add("header_only.wav", whole[:44])
    add("empty_file.wav", b"")
    add("garbage.wav", rng.bytes(3000))
    add("text.flac", b"not audio at all\n" * 20)
    lying = bytearray(whole)
    at = lying.find(b"data")
    lying[at + 4 : at + 8] = struct.pack("<I", 0x7FFFFFF0)
    add("lying_size.wav", bytes(lying))
    rate = bytearray(whole)
    rate[24:28] = struct.pack("<I", 10**9)
    add("rate_1e9.wav", bytes(rate))
    rate0 = bytearray(whole)
    rate0[24:28] = struct.pack("<I", 1)
    add("rate_1.wav", bytes(rate0))
    channels = bytearray(whole)
    channels[22:24] = struct.pack("<H", 60000)
    add("channels_60000.wav", bytes(channels))
    soundfile.write(folder / "whole.flac", rng.standard_normal(30000).astype(np.float32) * 0.1, 16000)
    flac = (folder / "whole.flac").read_bytes()
    add("cut.flac", flac[: len(flac) // 2])
    nan = np.full(100, np.nan, np.float32)
    soundfile.write(add("nan.wav"), nan, 16000, subtype="FLOAT")
    (folder / "a_folder.wav").mkdir()
    files["a_folder.wav"] = str(folder / "a_folder.wav")
    files["missing.wav"] = str(folder / "missing.wav")
    os.symlink(folder / "loop.wav", folder / "loop.wav")
    files["loop.wav"] = str(folder / "loop.wav")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.wav")
        files["fifo.wav"] = str(folder / "fifo.wav")
    try:
        name = os.fsdecode(b"non-utf8-\xff.wav")
        (folder / name).write_bytes(whole)
        files["non-utf8.wav"] = str(folder / name)
    except (OSError, UnicodeEncodeError):
        pass
    return files


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    return _odd_files(tmp_path_factory.mktemp("odd"))


@_settings("files")
@given(
    data=st.data(),
    stream=st.sampled_from([None, True, False]),
    config=st.sampled_from(POOL[:3]),
    seed=st.sampled_from([None, 0, 1, 2, 3]),
)
def test_odd_files_give_finite_spectrograms_or_a_file_error(odd_files, data, stream, config, seed):
    name = data.draw(st.sampled_from(sorted(odd_files)), label="file")
    path = odd_files[name]
    key = None if seed is None else jax.random.key(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _outcome("files", lambda: np.asarray(jaxspec.encode(config, path, stream=stream, key=key)))
    for warning in caught:
        if issubclass(warning.category, TruncatedAudioWarning):
            COUNTS["files: truncation warnings"] += 1
            assert path in str(warning.message) or repr(path) in str(warning.message)
    if stream and key is not None and config.augmentation is not None:  # a usage error, before the file
        assert isinstance(out, jaxspec.InputError) and "stream=True" in str(out), out
        return
    if isinstance(out, Exception):
        assert name not in ("good.wav", "stereo_22k.flac", "int32.wav", "non-utf8.wav", "empty_audio.wav"), out
        assert not isinstance(out, jaxspec.ConfigError), (name, out)  # a file's fault is a file error
        if not isinstance(out, FileNotFoundError):
            assert repr(path) in str(out) or path in str(out), (name, out)
        return
    plan = jaxspec.planner.plan_file(config, path, augmented=key is not None)
    assert out.shape == plan.shape and out.dtype == np.float32 and np.isfinite(out).all(), name


def test_odd_files_through_the_command_line(odd_files, tmp_path, capsys):
    folder = os.path.dirname(odd_files["good.wav"])
    code = jaxspec.cli.main(["encode", folder, "-o", str(tmp_path / "out"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert "written" in out.splitlines()[-1] and "failed" in out.splitlines()[-1]
    assert (tmp_path / "out" / "good.npy").exists()
    assert not any(p.name.endswith(".part") for p in (tmp_path / "out").rglob("*"))
    for command in (["info", folder], ["encode", folder, "-o", str(tmp_path / "all.npz"), "--single"]):
        code = jaxspec.cli.main([*command, "--no-progress"] if command[0] == "encode" else command)
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in out + err, command


def test_the_reference_agrees_on_a_sine():
    config = SpectrogramConfig(window_size=64, offset=16, fft_size=64, window_function=None)
    x = np.sin(2 * np.pi * 8 * np.arange(640) / 64)
    ref = reference(config, x)
    assert ref.shape == (40, 33) and int(np.argmax(ref[3])) == 8
    assert math.isclose(ref[3, 8], (64 / 2) ** 2, rel_tol=1e-9)
