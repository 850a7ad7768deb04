"""Issue 14: untrusted configs, odd arrays and files, interrupted runs: nothing aborts, hangs or is lost.

One section per item of the issue; each test is the regression test of a failure the
reliability study found (SPEC section 5).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile
from conftest import child_env

import jaxspec
from jaxspec import (
    Audio,
    AudioFileError,
    Augmentation,
    ConfigError,
    Convolution,
    InputError,
    Noise,
    SpectrogramConfig,
    Uniform,
    Volume,
    _declared,
    _file_ends,
    limits,
)
from jaxspec import manifest as manifest_module
from jaxspec.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main
from jaxspec.errors import TruncatedAudioWarning
from jaxspec.stream import stream_to_array

RATE = 16000
ROOT = Path(__file__).resolve().parent.parent


def raises(error_type, *fragments):
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(fragment)})" for fragment in fragments)
    return pytest.raises(error_type, match=re.compile(pattern, re.IGNORECASE))


def _tone(n=4000, freq=440.0):
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.float32)


def _wav(path, n=4000, freq=440.0, **kwargs):
    soundfile.write(path, _tone(n, freq), RATE, **kwargs)
    return path


def _wav_folder(tmp_path, names):
    """``tmp_path / "in"`` holding a tone ``NAME.wav`` for each of ``names``."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in names:
        _wav(folder / f"{name}.wav")
    return folder


def _in_thread(fn, timeout=30.0):
    """Runs ``fn`` in a thread; fails if it has not returned after ``timeout`` s (a hang)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as error:  # noqa: BLE001
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked (a FIFO was opened)"
    return box


POSIX_SIGNALS = pytest.mark.skipif(
    os.name != "posix", reason="sends POSIX signals (SIGINT, SIGTERM, SIGHUP, SIGKILL) with os.kill: not on Windows"
)


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ------------------------------------------------------------------ 1. caps on sizes
@pytest.mark.parametrize(
    "field, value, cap",
    [
        ("fft_size", 1_000_000_000, limits.MAX_FFT_SIZE),
        ("target_length", 10_000_000, limits.MAX_OUTPUT_VALUES),
        ("window_size", 100_000_000, limits.MAX_WINDOW_SAMPLES),
        ("sample_rate", 10**15, limits.MAX_SAMPLE_RATE),
        ("sample_rate", 1e300, limits.MAX_SAMPLE_RATE),  # shown as written, not as its 301 digits
        ("target_length", 1e12, limits.MAX_TARGET_SAMPLES),
        ("target_length", "1e300s", limits.MAX_TARGET_SAMPLES),
        ("offset", 10**9, limits.MAX_OFFSET_SAMPLES),
        ("window_size", 1e6, limits.MAX_WINDOW_SAMPLES),
        ("power", 100.0, 8),
    ],
)
def test_sizes_above_their_caps_are_config_errors_at_build(tmp_path, field, value, cap):
    with raises(ConfigError, field, str(cap)) as error:
        SpectrogramConfig(**{field: value})
    assert len(str(error.value)) < 300
    file = tmp_path / "c.json"
    file.write_text(json.dumps({field: value}))  # the 27-byte configs of the issue
    with raises(ConfigError, field):
        SpectrogramConfig.load(file)


@pytest.mark.parametrize("field", ["window_size", "offset", "target_length"])
@pytest.mark.parametrize("value", [-1e306, "-1e400s", "-1e308min"])
def test_huge_negative_durations_are_config_errors(tmp_path, capsys, field, value):
    # seconds * rate was -inf and reached int(): an OverflowError (the CLI: "unexpected error", exit 1)
    with raises(ConfigError, field, "positive"):
        SpectrogramConfig(**{field: value})
    file = tmp_path / "c.json"
    file.write_text(json.dumps({field: value}))
    with raises(ConfigError, field):
        SpectrogramConfig.load(file)
    flag = "--" + field.replace("_", "-")
    assert _cli(capsys, "encode", _wav(tmp_path / "a.wav"), "-o", tmp_path / "out", f"{flag}={value}")[0] == 2


def test_a_dither_or_a_mel_filterbank_too_large_is_a_config_error_at_build(tmp_path):
    """A dither adds ``amount * N(0, 1)`` to every frame (1e18 gave inf, 1e38 NaN); a
    filterbank is ``[bins, n_mels]`` (1e9 bands asked for 7 GiB and more)."""
    from jaxspec.features import MelFilterbank
    from jaxspec.framing import Dither

    assert SpectrogramConfig(preprocess=(Dither(1.0),)).preprocess == (Dither(1.0),)
    # capped where they are built: the float32 bound blamed a 1e30 dither on the mel filterbank
    cap = {"dither": limits.MAX_GAIN, "pre_emphasis": limits.MAX_PRE_EMPHASIS}
    for stage in ("dither", "pre_emphasis"):
        for value in (1e18, 1e30, -1e30, 1e300):
            name = {"dither": "Dither(amount", "pre_emphasis": "PreEmphasis(coefficient"}[stage]
            file = tmp_path / "c.json"
            field = "amount" if stage == "dither" else "coefficient"
            file.write_text(json.dumps({"preprocess": [{stage: {field: value}}]}))
            with raises(ConfigError, f"preprocess[0].{stage}", f"{name}={value!r})", f"{cap[stage]:g}"):
                SpectrogramConfig.load(file)
    assert limits.worst_case(SpectrogramConfig(preprocess=(Dither(limits.MAX_GAIN),)), 1.0, 16000)[0] < 1e36
    # the step named is the first one past the bound, where the overflow starts
    assert limits.worst_case(jaxspec.presets.kaldi_fbank(), 1e37, 16000)[1] == "the augmented waveform"
    assert MelFilterbank(limits.MAX_MEL_BANDS).n_mels == limits.MAX_MEL_BANDS
    with raises(ConfigError, "n_mels=1000000000", str(limits.MAX_MEL_BANDS)):
        MelFilterbank(10**9)
    file.write_text(json.dumps({"features": [{"mel_filterbank": {"n_mels": 10**9}}]}))
    with raises(ConfigError, "n_mels"):
        SpectrogramConfig.load(file)


def test_feature_stages_count_in_the_float32_bound():
    # the bound stopped at |X|**power for one bin: an unnormalized mel filter sums up to every
    # bin, so these accepted configs and inputs gave inf
    from jaxspec.features import DCT, Deltas, Log, MelFilterbank

    mel = MelFilterbank(n_mels=1, norm=None)
    with raises(ConfigError, "overflow float32", "MelFilterbank"):
        SpectrogramConfig(
            window_size=2, offset=1, window_function=[1e4, 1e4], fft_size=2**20, power=8.0, features=(mel,)
        )
    config = SpectrogramConfig(window_size=2, offset=1, fft_size=65536, features=(mel,))
    with raises(InputError, "3e+17", "MelFilterbank"):
        jaxspec.spectrogram(config, np.full(8, 3e17, np.float32))
    # the bound is a bound: full-scale inputs stay under it on every stage, for both norms
    rng = np.random.default_rng(0)
    for norm, stages in [(None, (DCT(20, None, 22.0),)), ("slaney", (Deltas(2, stack=True),)), (None, (Log(),))]:
        config = SpectrogramConfig(fft_size=1024, features=(MelFilterbank(64, norm=norm, fmin=30.0), *stages))
        bound = limits.worst_case(config, 1.0, 16000)[0]
        x = np.sign(rng.standard_normal(16000)).astype(np.float32)
        worst = max(
            float(np.abs(jaxspec.spectrogram(config, x)).max()),
            float(np.abs(jaxspec.spectrogram(config, np.ones_like(x))).max()),
        )
        assert 0 < worst <= bound


def test_a_feature_matrix_is_capped_before_it_is_built():
    # 16384 mels on a 2**20-point FFT passed every cap and then asked for a 64 GiB filterbank
    from jaxspec import presets
    from jaxspec.features import DCT

    config = {"features": [{"mel_filterbank": {"n_mels": 16384}}], "fft_size": 1 << 20}
    with raises(ConfigError, "MelFilterbank", "524289 x 16384", str(limits.MAX_MATRIX_VALUES)):
        SpectrogramConfig.from_dict(config)
    with raises(ConfigError, "DCT", str(limits.MAX_MATRIX_VALUES)):
        SpectrogramConfig(fft_size=1 << 20, features=(DCT(n=200),))
    assert presets.librosa_melspectrogram(sr=48000, n_fft=65536, n_mels=1024).num_features == 1024


def test_a_long_duration_string_is_refused_at_once_without_echoing_it():
    # the old pattern backtracked quadratically: 98 s for a 40 000-digit window_size in a 40 KB config
    from jaxspec.durations import is_duration_string

    start = time.perf_counter()
    with raises(ConfigError, "window_size=<a string of 40000 characters> is not a duration"):
        SpectrogramConfig(window_size="1" * 40000)
    assert time.perf_counter() - start < 30  # a hang guard: about 1 ms now, 98 s with the old pattern
    assert not is_duration_string("1" * 63 + "ms") and is_duration_string("1" * 62 + "ms")
    for text, seconds in (("25ms", 0.025), (" -0.1 s ", -0.1), (".5s", 0.5), ("1.5e-3s", 0.0015), ("+2min", 120.0)):
        assert jaxspec.durations.parse_duration(text, "t", None) == pytest.approx(seconds)
    assert not is_duration_string("1.ms") and not is_duration_string("ms")


def test_integers_beyond_float_range_and_deep_dicts_are_config_errors_naming_the_place(tmp_path):
    # OverflowError ("int too large to convert to float", exit 1), RecursionError, or Python's
    # own ValueError while a message was formatted (10**100000)
    big = 10**400
    deep: list = [0.5]
    for _ in range(100_000):
        deep = [deep]
    cases = [
        ({"augmentation": {"volume": {"gain": big}}}, "augmentation.volume.gain=<an integer of about 400 digits>"),
        ({"augmentation": {"convolution": {"signal": {"samples": [0.1, big]}}}}, "signal.samples[1]=<an integer"),
        ({"window_size": 4, "window_function": [0.5, 0.5, 0.5, big]}, "window_function[3]=<an integer"),
        ({"features": [{"log": {"floor": big}}]}, "features[0].log.floor=<an integer"),
        ({"sample_rate": 10**100000}, "sample_rate=<an integer of about 100000 digits>"),
        ({"window_function": deep}, f"nests deeper than the cap {limits.MAX_JSON_DEPTH}"),
        ({"augmentation": {"volume": {"gain": {"uniform": deep}}}}, "augmentation.volume.gain.uniform[0]"),
    ]
    for d, message in cases:
        with raises(ConfigError, message):
            SpectrogramConfig.from_dict(d)
    (tmp_path / "g.json").write_text('{"augmentation": {"volume": {"gain": 1' + "0" * 400 + "}}}")
    assert main(["config", "--config", str(tmp_path / "g.json")]) == EXIT_USAGE
    for build in (lambda: jaxspec.Volume(big), lambda: jaxspec.Uniform(0, big), lambda: jaxspec.Log(floor=big)):
        with raises(ConfigError, "1000000"):
            build()
    with raises(ConfigError, "not numbers of samples"):
        jaxspec.Convolution([0.1, big])


def test_a_feature_chain_is_capped_in_stages_width_and_matrices(tmp_path):
    # 20 stacked Deltas: 7e11 features a frame, and XLA aborted the process (f32[1,-1410836989])
    deltas = {"deltas": {"order": 2, "stack": True, "width": 3}}
    with raises(ConfigError, "Deltas", "features a frame", str(limits.MAX_FEATURES)):
        SpectrogramConfig.from_dict({"features": [deltas] * 20})
    (tmp_path / "d.json").write_text(json.dumps({"features": [deltas] * 20}))
    code = main(["config", "--config", str(tmp_path / "d.json")])
    assert code == EXIT_USAGE
    # 30 DCTs of 8192, each at the cap alone: 30 x 256 MB built
    many = [{"mel_filterbank": {"n_mels": 8192}}] + [{"dct": {"n": 8192}}] * 30
    with raises(ConfigError, "matrices up to DCT", "together", str(limits.MAX_MATRIX_VALUES)):
        SpectrogramConfig.from_dict({"features": many})
    with raises(ConfigError, f"features has more than {limits.MAX_FEATURE_STAGES} stages"):
        SpectrogramConfig.from_dict({"features": [{"log": {}}] * 2000})
    stacked = SpectrogramConfig.from_dict({"features": [deltas] * 3})
    assert stacked.num_features == 201 * 27  # below the caps: as before


def test_plot_caps_dpi_and_writes_png_without_an_extension(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="pictures need the [cli] extra (matplotlib)")
    clip = _wav(tmp_path / "a.wav", 4000)
    code, _, err = _cli(capsys, "plot", clip, "-o", tmp_path / "big.png", "--dpi", "5000")
    assert code == EXIT_USAGE and "dpi=5000" in err and str(limits.MAX_DPI) in err  # 5000 dpi took 19 GB
    code, _, err = _cli(capsys, "plot", clip, "-o", tmp_path / "picture")  # was "Format 'part' is not supported"
    assert code == EXIT_OK, err
    assert (tmp_path / "picture").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "picture"]  # no temporary left
    code, _, err = _cli(capsys, "plot", clip, "-o", tmp_path)
    assert code == EXIT_USAGE and f"{str(tmp_path)!r}: is a folder" in err  # not "[Errno 21] ..."
    from jaxspec.plot import plot_file

    for dpi in (50.0, np.int64(50)):  # numbers of any type, as before the cap
        assert plot_file(SpectrogramConfig(), clip, tmp_path / "p.png", dpi=dpi).exists()


def test_demo_of_an_empty_file_prints_its_empty_output(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="pictures need the [cli] extra (matplotlib)")
    empty = _wav(tmp_path / "empty.wav", 0)  # min() of its empty output raised NumPy's error
    code, out, err = _cli(capsys, "demo", empty, "-o", tmp_path / "e.png")
    assert code == EXIT_OK, err
    assert "(0, 201)" in out and "empty" in out and (tmp_path / "e.png").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_an_output_on_a_fifo_or_device_is_refused_not_replaced(tmp_path):
    # the rename replaced whatever stood there: `demo -o /dev/null` as root would replace the device
    from jaxspec._atomic import atomic_file

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with raises(OSError, "not a regular file", "pipe"):
        with atomic_file(fifo) as file:
            file.write(b"x")
    assert not fifo.is_file() and fifo.exists()


def test_a_pre_emphasis_too_large_is_a_config_error_at_build(tmp_path):
    """``x[k] - c * x[k-1]`` with c = 1e30 made every output inf (found by the CLI audit)."""
    from jaxspec.framing import PreEmphasis

    file = tmp_path / "c.json"
    file.write_text(json.dumps({"preprocess": [{"pre_emphasis": {"coefficient": 1e30}}]}))
    with raises(ConfigError, "PreEmphasis(coefficient=1e+30)", "1e+10"):  # not "MelFilterbank can reach"
        SpectrogramConfig.load(file)
    with raises(ConfigError, "preemphasis_coefficient=-1e+30", "[0, 1]"):  # the preset keeps torchaudio's range
        jaxspec.presets.kaldi_fbank(preemphasis_coefficient=-1e30)
    accepted = SpectrogramConfig(preprocess=(PreEmphasis(1e10),))  # the largest that stay finite pass
    assert np.isfinite(np.asarray(jaxspec.spectrogram(accepted, _tone()))).all()


def test_cli_seeds_and_config_files_of_the_wrong_kind_are_usage_errors(tmp_path, capsys):
    clip = tmp_path / "a.wav"
    soundfile.write(clip, np.zeros(1600, np.float32), 16000)
    for seed in ("99999999999999999999999", str(1 << 63), "x"):
        with pytest.raises(SystemExit) as exit_:
            main(["encode", str(clip), "-o", str(tmp_path / "o.npy"), "--volume", "0.5:1.5", "--key", seed])
        assert exit_.value.code == EXIT_USAGE
        assert "--key" in capsys.readouterr().err
    for augmentation in ([1], 5, "volume"):
        file = tmp_path / "c.json"
        file.write_text(json.dumps({"augmentation": augmentation}))
        code, _, err = _cli(capsys, "encode", clip, "-o", tmp_path / "o.npy", "--config", file, "--volume", "0.5:1.5")
        assert code == EXIT_USAGE and "augmentation must be a JSON object" in err, err
    # a stage written as a number or a list, with a flag for that stage: "unexpected error:
    # TypeError: 'float' object is not a mapping" (an audit)
    for stage, flags in (({"volume": 0.5}, ["--volume", "0.8"]), ({"noise": [0.1, 0.2]}, ["--noise", "0.1"])):
        file.write_text(json.dumps({"augmentation": stage}))
        code, _, err = _cli(capsys, "encode", clip, "-o", tmp_path / "o.npy", "--config", file, *flags)
        assert code == EXIT_USAGE and f"augmentation.{next(iter(stage))} must be a JSON object" in err, err
    code, _, _ = _cli(capsys, "encode", clip, "-o", tmp_path / "o.npy", "--key", str(-(1 << 63)), "--volume", "1")
    assert code == EXIT_OK


def test_the_largest_accepted_sizes_build_without_allocating():
    config = SpectrogramConfig(
        sample_rate=limits.MAX_SAMPLE_RATE, window_size=limits.MAX_WINDOW_SAMPLES, fft_size=limits.MAX_FFT_SIZE
    )
    assert config.num_bins == limits.MAX_FFT_SIZE // 2 + 1


def test_recording_longer_than_the_cap(monkeypatch):
    monkeypatch.setattr(limits, "MAX_RECORDING_SAMPLES", 100)
    with raises(ConfigError, "Noise signal", "101", "100"):
        SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, np.zeros(101, np.float32))))
    SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, np.zeros(100, np.float32))))  # the cap itself


def test_a_traced_input_near_float32s_top_is_normalized_not_zeroed():
    """Input caps are checked on concrete input only; under jit a peak of 1e38 made the power-of-two
    scale's exponent leave float32's normal range without its clamp (all zeros, a mutation round)."""
    x = np.sin(np.arange(4000) / 7.0).astype(np.float32)
    config = SpectrogramConfig(normalization="max")
    huge = np.asarray(jax.jit(lambda v: jaxspec.spectrogram(config, v))(x * np.float32(1e38)))
    np.testing.assert_allclose(huge, np.asarray(jaxspec.spectrogram(config, x)), rtol=1e-5, atol=1e-3)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_as_recording_input_or_config_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "noise.wav"
    os.mkfifo(fifo)
    box = _in_thread(lambda: SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, str(fifo)))))
    assert (
        isinstance(box.get("error"), AudioFileError) and "FIFO" in str(box["error"]) and str(fifo) in str(box["error"])
    )
    box = _in_thread(lambda: jaxspec.encode(SpectrogramConfig(), str(fifo)))
    assert isinstance(box.get("error"), AudioFileError)
    box = _in_thread(lambda: jaxspec.encode(SpectrogramConfig(), str(fifo), stream=True))
    assert isinstance(box.get("error"), AudioFileError)
    config = tmp_path / "cfg.json"
    os.mkfifo(config)
    box = _in_thread(lambda: SpectrogramConfig.load(config))
    assert isinstance(box.get("error"), ConfigError)
    good = _wav(tmp_path / "good.wav")
    box = _in_thread(lambda: _cli(capsys, "encode", fifo, good, "-o", tmp_path / "out", "--no-progress"))
    code, out, err = box["value"]
    assert code == EXIT_FAILED and "FIFO" in err and (tmp_path / "out" / "good.npy").exists()


def test_values_echoed_from_an_untrusted_config_file_are_cut_in_the_message(tmp_path, capsys, monkeypatch):
    # 500 000 unknown keys gave a 5.4 MB ConfigError, printed whole by ``encode --config``
    import pickle

    from jaxspec import errors

    many, long = tmp_path / "many.json", tmp_path / "long.json"
    many.write_text(json.dumps({f"k{i}": 1 for i in range(200_000)}))
    long.write_text(json.dumps({"window_function": "x" * 1_000_000}))
    cases = [(many, "unknown key(s) ['k0', 'k1'", "'features']"), (long, "window_function='xxx", "window_size numbers")]
    for path, start, end in cases:
        with monkeypatch.context() as patched:  # the whole message, to count what the cap leaves out
            patched.setattr(errors, "MESSAGE_CHARS", 10**9)
            with pytest.raises(ConfigError) as whole:
                SpectrogramConfig.load(path)
        with pytest.raises(ConfigError) as caught:
            SpectrogramConfig.load(path)
        message = str(caught.value)
        assert len(message) <= errors.MESSAGE_CHARS and message.count("characters left out") == 1
        assert start in message and message.endswith(end)  # the start, and the fix at the end
        # the count is right though load wraps the message ("config file ...: "); pickling keeps it
        left_out = int(re.search(r"\[(\d+) characters left out\]", message).group(1))
        marker = len(f" ... [{left_out} characters left out] ... ")
        assert len(message) - marker + left_out == len(str(whole.value))
        assert str(pickle.loads(pickle.dumps(caught.value))) == message
        code, _, err = _cli(capsys, "config", "--config", path)
        assert code == 2 and len(err) < errors.MESSAGE_CHARS + 100


# ------------------------------------------------------------------ 2. --single never loses results
def test_single_archive_keeps_every_name(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ("file", "allow_pickle", "x", "args", "kwds")
    for i, name in enumerate(names):
        _wav(folder / f"{name}.wav", 1000 + 100 * i)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "all.npz", "--single", "--no-progress")
    assert code == EXIT_OK and out.startswith(f"{len(names)} written, 0 failed")
    with np.load(tmp_path / "all.npz") as archive:
        assert sorted(archive.files) == sorted(names)
        for name in names:
            expected = np.asarray(jaxspec.encode(SpectrogramConfig(), str(folder / f"{name}.wav")))
            np.testing.assert_array_equal(archive[name], expected)
    with zipfile.ZipFile(tmp_path / "all.npz") as archive:
        assert sorted(archive.namelist()) == sorted(f"{n}.npy" for n in names)


# ------------------------------------------------------------------ 3. atomic outputs and reruns
def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part*"))


def test_a_failing_stream_leaves_no_file_under_its_final_name(tmp_path, monkeypatch):
    import jaxspec.stream as stream

    source = _wav(tmp_path / "a.wav", 20000)
    target = tmp_path / "out" / "a.npy"

    def broken(*args, **kwargs):
        yield np.zeros((4, SpectrogramConfig().num_bins), np.float32)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stream, "_stream_blocks", broken)  # what encode_to_file streams through
    with pytest.raises(OSError, match="No space"):
        stream.encode_to_file(SpectrogramConfig(), source, target)
    assert not target.exists() and _leftovers(tmp_path) == []


def test_a_killed_write_leaves_no_partial_npy(tmp_path, monkeypatch, capsys):
    from jaxspec import outputs

    folder = tmp_path / "in"
    folder.mkdir()
    for name in "abc":
        _wav(folder / f"{name}.wav")
    real = np.lib.format.write_array

    def dies(file, array, **kwargs):
        file.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt  # what a kill does to the writing thread

    monkeypatch.setattr(outputs.np.lib.format, "write_array", dies)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_INTERRUPTED and out.startswith("interrupted: 0 written")
    assert list((tmp_path / "out").glob("*.npy")) == [] and _leftovers(tmp_path) == []
    monkeypatch.setattr(outputs.np.lib.format, "write_array", real)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress", "--skip-existing")
    assert code == EXIT_OK and out.startswith("3 written, 0 failed, 0 up to date")


def test_an_interrupt_as_the_temporary_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    # Ctrl-C / SIGTERM (raised as KeyboardInterrupt) landing just as the temporary file came
    # into being, inside tempfile.mkstemp, left it behind (a zero-byte .part file)
    from jaxspec import _atomic

    real_open = os.open

    def created_then_interrupted(*args, **kwargs):
        os.close(real_open(*args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", created_then_interrupted)
    with pytest.raises(KeyboardInterrupt), _atomic.atomic_file(tmp_path / "a.npy") as file:
        file.write(b"never")
    monkeypatch.setattr(os, "open", real_open)
    assert list(tmp_path.iterdir()) == []


def test_atomic_outputs_get_the_usual_permissions(tmp_path, capsys):
    _wav(tmp_path / "a.wav")
    assert _cli(capsys, "encode", tmp_path / "a.wav", "-o", tmp_path / "out", "--no-progress")[0] == EXIT_OK
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out" / "a.npy").stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600
    # the umask of the moment, not the one at import (read there by setting it to 0 and back,
    # which raced with other threads' files)
    previous = os.umask(0o077)
    try:
        with jaxspec._atomic.atomic_file(tmp_path / "private.txt", "w") as file:
            file.write("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600


def test_rerun_skips_only_up_to_date_outputs(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    a, b = _wav(folder / "a.wav", 3000), _wav(folder / "b.wav", 5000)
    out = tmp_path / "out"
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[1].startswith("2 written, 0 failed, 0 up")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[1].startswith("0 written, 0 failed, 2 up")
    # another config: both replaced, with the new config's outputs
    code, stdout, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--offset", 100)
    assert stdout.startswith("2 written") and "note: 2 existing output(s)" in stderr  # not silent
    expected = jaxspec.encode(SpectrogramConfig(offset=100), str(a))
    np.testing.assert_array_equal(np.load(out / "a.npy"), np.asarray(expected))
    # a changed input: only it is replaced
    _wav(b, 6000, 880.0)
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--offset", 100)[1].startswith("1 written")
    # another key rule (a seed) with augmentation: replaced
    flags = ("--offset", 100, "--volume", "0.5:1.5")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags)[1].startswith("2 written")  # warns
    # seed 0 is a key rule too, not "no key" (a truthiness mutant kept the unaugmented outputs)
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 0)[1].startswith("2 written")
    keyed = SpectrogramConfig(offset=100, augmentation=Augmentation(volume=(0.5, 1.5)))
    expected = jaxspec.encode(keyed, str(a), key=jaxspec.corpus.file_key(0, "a"))
    np.testing.assert_array_equal(np.load(out / "a.npy"), np.asarray(expected))
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 1)[1].startswith("2 written")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 2)[1].startswith("2 written")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 2)[1].startswith("0 written")
    # --overwrite forces; --skip-existing keeps what is there whatever the config
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 2, "--overwrite")[1].startswith(
        "2 written"
    )
    before = np.load(out / "a.npy")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--skip-existing")[1].startswith(
        "0 written, 0 failed, 2 up to date"
    )
    np.testing.assert_array_equal(np.load(out / "a.npy"), before)
    # an output removed or cut by hand is made again
    (out / "a.npy").write_bytes((out / "a.npy").read_bytes()[:100])
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 2)[1].startswith("1 written")
    # the manifest: one setting line, one record per output, readable after a cut last line
    with open(out / ".jaxspec-manifest.jsonl", "a") as file:
        file.write('{"name": "a", "sett')
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress", *flags, "--key", 2)[1].startswith("0 written")
    lines = [json.loads(line) for line in (out / ".jaxspec-manifest.jsonl").read_text().splitlines()]
    assert [sorted(line) for line in lines[:1]] == [["config", "key_rule", "numbers", "setting"]]
    assert sorted(line["name"] for line in lines[1:]) == ["a", "b"]
    assert lines[1]["input"] == os.path.abspath(folder / lines[1]["name"]) + ".wav"


def test_records_appended_after_a_cut_line_are_kept(tmp_path):
    # a run killed mid-append leaves a cut last line; the next run's first line was glued
    # to it (its setting line lost until the end-of-run rewrite, which a second kill skips)
    from jaxspec import outputs

    path = tmp_path / "manifest.jsonl"
    path.write_text('{"name": "a", "sett')
    manifest = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    manifest.add("b", None, (10, 1))
    manifest.add("c", None, (20, 2))
    again = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    assert sorted(again.records) == ["b", "c"] and manifest.setting in again.settings


def test_concurrent_runs_into_one_folder_keep_each_others_records(tmp_path):
    # two runs into one -o (xargs -P, two shells): the one that rewrote the manifest last
    # dropped the other's rows, and the next run encoded those outputs again
    from jaxspec import outputs

    path = tmp_path / manifest_module.MANIFEST_NAME
    path.write_text("")
    old = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    old.add("gone", None, (1, 1))
    old.compact()
    first = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    second = manifest_module.Manifest(path, {"x": 2}, outputs.KEY_RULE_NONE)  # another config
    first.add("a", None, (10, 1))
    second.add("b", None, (20, 2))
    first.forget("gone")  # replaced or failed in the first run
    first.compact()
    second.add("c", None, (30, 3))
    second.compact()
    final = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    assert sorted(final.records) == ["a", "b", "c"]
    assert final.records["a"]["setting"] == first.setting and final.records["b"]["setting"] == second.setting
    assert {first.setting, second.setting} <= set(final.settings)
    lines = path.read_text().splitlines()
    assert len(lines) == 5  # two settings, three records: nothing twice


def test_two_runs_writing_one_output_keep_the_record_of_the_file_on_disk(tmp_path):
    # two identical runs into one folder both wrote each output; the run that compacted last
    # kept its own record even where the other's rename came last, and the next run made 14-25
    # of 50 outputs again (wasted work: the record no longer matched the file)
    from jaxspec import outputs

    path, target = tmp_path / manifest_module.MANIFEST_NAME, tmp_path / "a.npy"
    first = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    second = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    first.add("a", None, outputs.write_npy(target, np.zeros(3)), target)
    time.sleep(0.01)  # the second rename comes later: its file is the one on disk
    second.add("a", None, outputs.write_npy(target, np.ones(3)), target)
    second.add("b", None, outputs.write_npy(tmp_path / "b.npy", np.ones(3)), tmp_path / "b.npy")
    second.compact()
    first.add("b", None, outputs.write_npy(tmp_path / "b.npy", np.zeros(3)), tmp_path / "b.npy")  # last
    first.compact()
    final = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    assert final.wrote("a", target) and final.wrote("b", tmp_path / "b.npy")
    assert final.records["a"] == second.records["a"] and final.records["b"] == first.records["b"]
    # a name this run failed (its record dropped) keeps a concurrent run's record of the file on disk
    third = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    third.discard("c", tmp_path / "c.npy")
    first.add("c", None, outputs.write_npy(tmp_path / "c.npy", np.ones(3)), tmp_path / "c.npy")
    third.compact()
    assert manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE).wrote("c", tmp_path / "c.npy")


def test_a_record_appended_after_the_other_runs_does_not_hide_the_file_on_disk(tmp_path):
    # run B renamed its file last but appended its record first; run A's record of its
    # replaced file came after it and A compacted last: A kept its own record (the next run
    # made 1-3 of 6 outputs again, in 8 of 13 tries with threads)
    from jaxspec import outputs

    path, target = tmp_path / manifest_module.MANIFEST_NAME, tmp_path / "a.npy"
    a, b = (manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE) for _ in range(2))
    made_a = outputs.write_npy(target, np.zeros(3))
    time.sleep(0.01)
    b.add("a", None, outputs.write_npy(target, np.ones(3)), target)  # B's rename last, its record first
    b.compact()
    a.add("a", None, made_a, target)
    a.compact()
    final = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    assert final.wrote("a", target) and final.records["a"] == b.records["a"]


def test_a_run_whose_setting_line_was_rewritten_away_writes_it_again(tmp_path):
    # another config's run rewrote the manifest, dropping this run's setting line (its
    # records for the same names replaced); this run's later records then had no config
    # line, lost for good were it killed before its own rewrite
    from jaxspec import outputs

    path = tmp_path / manifest_module.MANIFEST_NAME
    first = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    first.add("n1", None, (10, 1))
    second = manifest_module.Manifest(path, {"x": 2}, outputs.KEY_RULE_NONE)
    second.add("n1", None, (10, 2))
    second.compact()
    first.add("n2", None, (20, 3))  # no compact: killed
    again = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    assert again.records["n2"]["setting"] == first.setting and first.setting in again.settings


@pytest.mark.skipif(os.name != "posix", reason="flock(2) exists on POSIX systems only")
def test_a_run_under_flock_of_its_output_folder_finishes(tmp_path, capsys):
    # `flock OUT jaxspec encode ... -o OUT` (util-linux's idiom for one job at a time): the
    # manifest's lock was taken on the folder, which the parent held: the run waited for ever
    import fcntl

    _wav(tmp_path / "a.wav")
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        box = _in_thread(lambda: main(["encode", str(tmp_path / "a.wav"), "-o", str(out), "--no-progress"]))
    finally:
        os.close(fd)
    assert box.get("value") == EXIT_OK and (out / "a.npy").is_file()


def test_the_record_stamps_the_file_this_run_wrote(tmp_path, monkeypatch):
    # the stamp was taken from the final name after the rename: another run's file renamed
    # there in between (same size: another config, same shape) lent it its stamp
    from jaxspec import _atomic, outputs

    other = tmp_path / "other.npy"
    np.save(other, np.ones(1000, np.float32))
    os.utime(other, ns=(10**9, 10**9))
    real = os.replace

    def then_another_run(source, target):
        real(source, target)
        if str(target).endswith("a.npy"):
            real(other, target)

    monkeypatch.setattr(os, "replace", then_another_run)
    made = outputs.write_npy(tmp_path / "a.npy", np.zeros(1000, np.float32))
    monkeypatch.setattr(os, "replace", real)
    final = _atomic.stamp(tmp_path / "a.npy")
    assert final[1] == 10**9 and made[0] == final[0] and made != final


@pytest.mark.skipif(os.name != "posix", reason="flock(2) exists on POSIX systems only")
def test_a_manifest_lock_held_elsewhere_costs_one_wait_per_run(tmp_path, capsys, monkeypatch):
    # `flock OUT/.jaxspec-manifest.jsonl ...` held for long: every output waited the full
    # LOCK_WAIT_S again (30 s a file), and the rewrite after a Ctrl-C once more
    import fcntl

    monkeypatch.setattr(manifest_module, "LOCK_WAIT_S", 0.5)
    real, budgets = manifest_module._locked, []

    def locked(path, wait):  # counts the waits rather than timing them (a shared, noisy machine)
        budgets.append(wait)
        return real(path, wait)

    monkeypatch.setattr(manifest_module, "_locked", locked)
    for i in range(12):
        _wav(tmp_path / f"{i:02d}.wav", 2000)
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / manifest_module.MANIFEST_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        box = _in_thread(lambda: main(["encode", str(tmp_path), "-o", str(out), "--no-progress"]))
    finally:
        os.close(fd)
    assert len(budgets) >= 12 and sum(budgets) <= 0.5  # 12 outputs and the rewrite: 6.5 s before
    assert box.get("value") == EXIT_OK and len(list(out.glob("*.npy"))) == 12


def test_the_manifest_lock_survives_an_open_that_would_block_and_a_fifo(tmp_path, monkeypatch):
    # open() of a file under a lease being broken raises BlockingIOError (a TypeError then
    # stopped the run); a FIFO swapped in for the manifest during a run hung the rewrite
    from jaxspec import outputs

    path = tmp_path / manifest_module.MANIFEST_NAME
    manifest = manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE)
    real_open, refused = os.open, []

    def leased(name, *args, **kwargs):
        if str(name) == str(path) and len(refused) < 3:
            refused.append(name)
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", leased)
    manifest.add("a", None, (1, 1))
    monkeypatch.setattr(os, "open", real_open)
    assert len(refused) == 3 and "a" in manifest_module.Manifest(path, {"x": 1}, outputs.KEY_RULE_NONE).records
    if os.name == "posix":
        path.unlink()
        os.mkfifo(path)
        with pytest.raises(OSError, match="not a regular file"):
            manifest.add("b", None, (2, 2))
        assert "error" not in _in_thread(manifest.compact, timeout=10.0)  # returns, leaves the FIFO
        assert stat_is_fifo(path)


_LEASE_SCRIPT = """
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
def give_up(*args):  # what Samba or an NFS server does when the lease is broken
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
signal.signal(signal.SIGIO, give_up)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="file leases (fcntl F_SETLEASE) exist on Linux only")
def test_a_rerun_waits_for_a_lease_on_the_manifest_to_break(tmp_path, capsys):
    # a non-blocking open of a leased file fails at once (EAGAIN): the rerun saw no records,
    # encoded everything again and, its records failing too, deleted every good output
    for i in range(4):
        _wav(tmp_path / f"{i}.wav", 2000)
    out = tmp_path / "out"
    assert _cli(capsys, "encode", tmp_path, "-o", out, "--no-progress")[1].startswith("4 written")
    argv = [sys.executable, "-c", _LEASE_SCRIPT, str(out / ".jaxspec-manifest.jsonl")]
    holder = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, printed, _ = _cli(capsys, "encode", tmp_path, "-o", out, "--no-progress")
    finally:
        holder.kill()
        holder.wait()
    assert code == EXIT_OK and printed.startswith("0 written, 0 failed, 4 up to date"), printed
    assert len(list(out.glob("*.npy"))) == 4


@pytest.mark.skipif(sys.platform != "linux", reason="file leases (fcntl F_SETLEASE) exist on Linux only")
def test_a_config_file_or_flac_under_a_lease_is_read_once_the_lease_breaks(tmp_path):
    """The config reader and the FLAC end check opened with O_NONBLOCK (their guard against a
    FIFO), which fails at once on a leased file: the config was "cannot read config file ...:
    Resource temporarily unavailable" and the FLAC's frame count was not told. Both now open as
    the manifest does (_regular.open_regular), waiting for the lease to break."""
    from jaxspec import _file_ends

    config = SpectrogramConfig(offset="10ms")
    config.save(tmp_path / "c.json")
    flac = tmp_path / "a.flac"
    soundfile.write(flac, np.linspace(-0.5, 0.5, 20000, dtype=np.float32), 16000)
    for path, read, expected in [
        (tmp_path / "c.json", SpectrogramConfig.load, config),
        (flac, _file_ends.flac_frames, 20000),
    ]:
        holder = subprocess.Popen([sys.executable, "-c", _LEASE_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            assert read(path) == expected
        finally:
            holder.kill()
            holder.wait()


def test_open_regular_refuses_special_files_at_once_and_links_when_told(tmp_path):
    """The one opener of the three readers: a FIFO (no writer: a plain open waits for ever), a
    folder and, with follow=False (the manifest), a symbolic link are refused without blocking."""
    from jaxspec._regular import NotRegularFile, open_regular

    (tmp_path / "file").write_bytes(b"data")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    for name, kind in [("fifo", "a FIFO"), ("link", "a symbolic link"), (".", "a folder")]:
        error = _in_thread(lambda name=name: open_regular(tmp_path / name, follow=False).close(), timeout=10.0)["error"]
        assert isinstance(error, NotRegularFile) and f"not a regular file ({kind})" in str(error), error
    with open_regular(tmp_path / "link") as file:
        assert file.read() == b"data"
    with open_regular(tmp_path / "new", os.O_RDWR | os.O_APPEND | os.O_CREAT) as file:
        file.write(b"x")
    assert (tmp_path / "new").read_bytes() == b"x"


def stat_is_fifo(path):
    import stat

    return stat.S_ISFIFO(os.lstat(path).st_mode)


def test_a_streamed_output_is_stamped_before_its_rename(tmp_path, monkeypatch):
    from jaxspec import stream

    wav = _wav(tmp_path / "a.wav", 20000)
    real = os.replace

    def then_another_run(source, target):
        real(source, target)
        os.utime(target, ns=(10**9, 10**9))  # another run's file, renamed there right after

    stamps: list = []
    monkeypatch.setattr(os, "replace", then_another_run)
    stream.encode_to_file(SpectrogramConfig(), wav, tmp_path / "a.npy", stamps=stamps)
    monkeypatch.setattr(os, "replace", real)
    assert stamps[0][0] == (tmp_path / "a.npy").stat().st_size and stamps[0][1] != 10**9


def test_an_output_replaced_after_its_record_is_not_up_to_date(tmp_path, capsys):
    # another run (another config) killed between its rename and its record, or running at
    # the same time, left other values of the same size under the name: a rerun called them
    # up to date and kept them
    folder = tmp_path / "in"
    folder.mkdir()
    for name in "ab":
        _wav(folder / f"{name}.wav")
    out = tmp_path / "out"
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[1].startswith("2 written")
    plain = np.load(out / "a.npy")
    os.replace(out / "a.npy", tmp_path / "kept.npy")
    np.save(out / "a.npy", 2 * plain)  # same size, other values, its record untouched
    code, printed, _ = _cli(capsys, "encode", folder, "-o", out, "--no-progress")
    assert code == EXIT_OK and printed.startswith("1 written, 0 failed, 1 up to date")
    np.testing.assert_array_equal(np.load(out / "a.npy"), plain)
    # a folder copied with its times (cp -a, rsync -a) stays up to date
    import shutil

    shutil.copytree(out, tmp_path / "copy")
    assert _cli(capsys, "encode", folder, "-o", tmp_path / "copy", "--no-progress")[1].startswith("0 written")


def test_a_file_that_now_fails_leaves_no_stale_output(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    a = _wav(folder / "a.wav")
    out = tmp_path / "out"
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[0] == EXIT_OK
    a.write_bytes(b"garbage" * 100)
    code, stdout, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--offset", 100)
    assert code == EXIT_FAILED and not (out / "a.npy").exists() and str(a) in stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_a_failing_item_never_removes_what_jaxspec_did_not_write(tmp_path, capsys):
    """A stale output is removed only when the manifest records it as jaxspec's: a file of
    the user's with that name, one changed since, or a FIFO stay."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in "abcd":
        _wav(folder / f"{name}.wav")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[0] == EXIT_OK
    (out / "a.npy").unlink()
    (out / "a.npy").write_text("the user's own file")  # no record of jaxspec's matches it
    (out / "b.npy").unlink()
    os.mkfifo(out / "b.npy")
    np.save(out / "c.npy", np.zeros(3))  # changed since it was written
    for name in "abcd":
        (folder / f"{name}.wav").write_bytes(b"not audio")
    code, _, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--offset", 90)
    assert code == EXIT_FAILED and stderr.count("error:") == 4
    assert (out / "a.npy").read_text() == "the user's own file"
    assert stat.S_ISFIFO(os.lstat(out / "b.npy").st_mode)
    np.testing.assert_array_equal(np.load(out / "c.npy"), np.zeros(3))
    assert not (out / "d.npy").exists()  # jaxspec's own stale output goes
    # one input to a FIFO named as its output: refused, and the FIFO stays
    single = tmp_path / "one.npy"
    os.mkfifo(single)
    code, _, stderr = _cli(capsys, "encode", _wav(tmp_path / "e.wav"), "-o", single, "--no-progress")
    assert code == EXIT_FAILED and "not a regular file" in stderr and stat.S_ISFIFO(os.lstat(single).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.wav", "in", "one.npy", "out"]  # no empty manifest


def test_a_manifest_with_hostile_lines_is_read_past(tmp_path, capsys):
    """Deeply nested JSON, a setting that is not a string and a line longer than the cap
    are skipped (no RecursionError / TypeError; the long line is never held whole)."""

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    _wav(folder / "a.wav")
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[0] == EXIT_OK
    manifest = out / manifest_module.MANIFEST_NAME
    with open(manifest, "a") as file:
        file.write("[" * 100_000 + "]" * 100_000 + "\n")
        file.write(json.dumps({"setting": {"a": 1}, "config": 1, "key_rule": 2}) + "\n")
        file.write('{"name": "a", "x": "' + "y" * (manifest_module.MAX_LINE_BYTES + 10) + '"}\n')
    code, printed, _ = _cli(capsys, "encode", folder, "-o", out, "--no-progress")
    assert code == EXIT_OK and printed.startswith("0 written, 0 failed, 1 up to date")
    assert manifest.stat().st_size < 10_000  # rewritten without them


def test_a_recording_is_capped_at_the_configs_rate_before_it_is_decoded(tmp_path, monkeypatch):
    from jaxspec import io, limits

    path = tmp_path / "rec8k.wav"
    soundfile.write(path, 0.1 * _tone(4000), 8000)
    monkeypatch.setattr(limits, "MAX_RECORDING_SAMPLES", 10_000)
    decoded = []
    monkeypatch.setattr(io, "load_audio", lambda p: decoded.append(p))  # must not be reached
    with raises(ConfigError, "Noise signal", "rec8k.wav", "4000 samples", "(16000 at the config's 32000 Hz)", "10000"):
        jaxspec.SpectrogramConfig(sample_rate=32000, augmentation=Augmentation(noise=Noise(0.1, str(path))))
    assert decoded == []


def test_a_recording_that_cannot_be_used_is_named_with_its_path(tmp_path):
    from jaxspec import RecordingFileError

    text = tmp_path / "text.wav"
    text.write_text("hello")
    slow = tmp_path / "rate1.wav"
    soundfile.write(slow, np.zeros(50, np.float32), 1)
    with raises(RecordingFileError, "Convolution signal", "text.wav", "cannot read") as caught:
        jaxspec.SpectrogramConfig(augmentation=Augmentation(convolution=Convolution(str(text))))
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, jaxspec.AudioFileError)
    with raises(ConfigError, "Noise signal", "rate1.wav", "1 Hz"):
        jaxspec.SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, str(slow))))
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"augmentation": {"noise": {"amplitude": 0.1, "signal": "missing.wav"}}}))
    with raises(FileNotFoundError, "c.json", "Noise signal", "missing.wav"):
        jaxspec.SpectrogramConfig.load(config)
    config.write_text(json.dumps({"augmentation": {"convolution": {"signal": "text.wav"}}}))
    with raises(RecordingFileError, "c.json", "Convolution signal", "text.wav"):
        jaxspec.SpectrogramConfig.load(config)


def test_single_rerun_and_interrupted_single_writes_nothing(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    _wav(folder / "a.wav")
    _wav(folder / "b.wav", 2000)
    archive = tmp_path / "all.npz"
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")[1].startswith("2 written")
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")[1].startswith(
        "0 written, 0 failed, 2 up to date"
    )
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress", "--offset", 90)[1].startswith(
        "2 written"
    )
    # an input that fails on every run makes the archive anew each time: a note says why (an audit)
    (folder / "bad.wav").write_bytes(b"not audio")
    for _ in range(2):
        code, stdout, stderr = _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")
        assert code == EXIT_FAILED and stdout.startswith("2 written, 1 failed")
    assert f"note: {str(archive)!r} is written anew: 1 input(s) have no up-to-date entry" in stderr


# ------------------------------------------------------------------ 4. output-side errors fail one item
def test_an_output_error_fails_that_item_only(tmp_path, capsys, monkeypatch):
    from jaxspec import outputs

    folder, out = _wav_folder(tmp_path, "abc"), tmp_path / "out"
    (out / "b.npy").mkdir(parents=True)  # the rename onto a folder fails
    real = outputs.write_npy

    def full_disk(path, array):
        if path.name == "c.npy":
            raise OSError(28, "No space left on device")
        return real(path, array)

    monkeypatch.setattr(outputs, "write_npy", full_disk)
    code, stdout, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress")
    assert code == EXIT_FAILED and stdout.startswith("1 written, 2 failed")
    assert f"cannot write {str(out / 'c.npy')!r}: No space left on device" in stderr
    assert str(out / "b.npy") in stderr and (out / "a.npy").is_file()
    assert _leftovers(out) == []


def test_overwrite_keeps_an_up_to_date_output_whose_new_write_fails(tmp_path, capsys, monkeypatch):
    # --overwrite on a full disk deleted a.npy, made from the same input and config; a stale
    # output (another config) still goes when its input's new output cannot be written
    from jaxspec import outputs

    folder, out = _wav_folder(tmp_path, "ab"), tmp_path / "out"
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[0] == 0
    before = np.load(out / "a.npy")
    (folder / "b.wav").write_bytes((folder / "b.wav").read_bytes())  # b's output is stale now (mtime)
    os.utime(folder / "b.wav", (1, 1))

    def full_disk(path, array):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_npy", full_disk)
    code, stdout, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--overwrite")
    assert code == EXIT_FAILED and stdout.startswith("0 written, 2 failed")
    assert "its existing output, up to date, is kept" in stderr
    np.testing.assert_array_equal(np.load(out / "a.npy"), before)
    assert not (out / "b.npy").exists()  # stale: gone, as without --overwrite
    monkeypatch.undo()
    code, stdout, _ = _cli(capsys, "encode", folder, "-o", out, "--no-progress")
    assert code == 0 and stdout.startswith("1 written, 0 failed, 1 up to date")  # a.npy's record was kept


def test_a_short_write_on_a_full_disk_says_no_space(tmp_path, monkeypatch):
    # NumPy reports a short write as "14673 requested and 13280 written", with no errno
    from jaxspec import outputs

    def short(file, array, **kwargs):
        raise OSError("14673 requested and 13280 written")

    monkeypatch.setattr(outputs.np.lib.format, "write_array", short)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda path: shutil_usage(0))
    with raises(OSError, "No space left on device", "0 bytes free"):
        outputs.write_npy(tmp_path / "a.npy", np.zeros(1000, np.float32))
    assert list(tmp_path.iterdir()) == []  # nothing left behind
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda path: shutil_usage(10**12))
    with raises(OSError, "requested and"):  # space left: NumPy's own error, unchanged
        outputs.write_npy(tmp_path / "a.npy", np.zeros(1000, np.float32))


_FULL_DISK_SCRIPT = """
import errno, resource, signal, sys, types
import jaxspec
from jaxspec.cli import main, pipeline

wav, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    jaxspec.encode_to_file(jaxspec.SpectrogramConfig(), wav, out + "/lib.npy")
except OSError as error:
    print(errno.errorcode[error.errno], error.filename)
pipeline.plan_file = lambda *args, **kwargs: types.SimpleNamespace(stream=True)  # streamed, as a long file
sys.exit(main(["encode", wav, "-o", out, "--no-progress"]))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as Linux has them")
def test_a_streamed_output_that_cannot_be_written_is_named(tmp_path):
    # a write or flush to the open temporary file raised "No space left on device" with no
    # file name: encode_to_file's error, and the CLI's line for a streamed file, named no output
    wav, out = tmp_path / "long.wav", tmp_path / "out"
    soundfile.write(wav, np.zeros(160_000, np.float32), 16000)  # its output: 800 kB
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(wav), str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.splitlines()[0] == f"EFBIG {out / 'lib.npy'}", done.stdout + done.stderr
    assert done.returncode == EXIT_FAILED and f"cannot write {str(out / 'long.npy')!r}: File too large" in done.stderr
    assert _leftovers(out) == []


def shutil_usage(free):
    import shutil

    return shutil._ntuple_diskusage(10**12, 10**12 - free, free)


# ------------------------------------------------------------------ 5. draws independent of the flags
_DRAWS_SCRIPT = """
import json, sys
import jax
sys.path.insert(0, "tests")
import numpy as np
import jaxspec
from make_draws_fixture import LENGTH, SEEDS, configs, signal
out = {"flags": [bool(jax.config.jax_enable_x64), bool(jax.config.jax_threefry_partitionable)]}
for name, config in configs().items():
    for seed in SEEDS:
        for field, value in jaxspec.draw(config, jax.random.key(seed), LENGTH).items():
            out[f"{name}/{seed}/{field}"] = np.asarray(value).tobytes().hex()
    x = np.stack([signal(), signal()[::-1].copy(), 0.5 * signal()])
    spec = np.asarray(jaxspec.spectrogram(config, x, jax.random.key(99)), np.float32)
    out[f"{name}/batch"] = float(np.abs(spec).sum())
    out[f"{name}/encode_batch"] = [float(np.asarray(s).sum()) for s in jaxspec.encode_batch(
        config, [signal(), signal()[:1500]], sample_rate=16000, key=jax.random.key(5))]
print(json.dumps(out))
"""


def _draws(env_flags):
    env = child_env(JAX_PLATFORMS="cpu", **env_flags)
    for name in ("JAX_ENABLE_X64", "JAX_THREEFRY_PARTITIONABLE"):
        if name not in env_flags:
            env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", _DRAWS_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_draws_do_not_depend_on_x64_or_threefry_partitionable():
    default = _draws({})
    assert default.pop("flags") == [False, True]  # JAX's defaults: the values of today
    for env_flags, flags in (
        ({"JAX_ENABLE_X64": "1"}, [True, True]),
        ({"JAX_THREEFRY_PARTITIONABLE": "0"}, [False, False]),
        ({"JAX_ENABLE_X64": "1", "JAX_THREEFRY_PARTITIONABLE": "0"}, [True, False]),
    ):
        other = _draws(env_flags)
        assert other.pop("flags") == flags  # the flag really was in effect
        assert set(other) == set(default)
        for name, value in default.items():
            if name.endswith("batch"):
                np.testing.assert_allclose(other[name], value, rtol=1e-6, err_msg=f"{env_flags} {name}")
            else:
                assert other[name] == value, f"{env_flags} changes {name}"


def test_batch_rule_is_fold_in_and_equals_split_under_the_default():
    key = jax.random.key(3)
    folded = jaxspec.augmentation.random.row_keys(key, 5)
    np.testing.assert_array_equal(jax.random.key_data(folded), jax.random.key_data(jax.random.split(key, 5)))
    for i in range(5):
        np.testing.assert_array_equal(jax.random.key_data(folded[i]), jax.random.key_data(jax.random.fold_in(key, i)))


def test_explicit_draws_equal_jax_default_path():
    from jaxspec.augmentation import random as r

    for seed in range(20):
        key = jax.random.fold_in(jax.random.key(seed), 7)
        assert r.uniform(key) == jax.random.uniform(key, ())
        assert r.normal(key) == jax.random.normal(key, ())
        for high in (1, 2, 7, 1000, 70_000, 2**31 - 1):
            assert r.randint(key, high) == jax.random.randint(key, (), 0, high, "int32")


# ------------------------------------------------------------------ 6. no silent NaN / inf
def test_feature_constants_above_their_caps_are_config_errors():
    """Each of these built, then gave inf (the first three) or absurd filterbanks."""
    from jaxspec import DCT, VTLP, Decibels, Deltas, FrequencyMask, Log, LogEnergy, MelFilterbank, TimeMask

    for build, fragments in (
        (lambda: Decibels(multiplier=1e300), ("Decibels(multiplier=1e+300)", "1e+30")),
        (lambda: Log(offset=1e300), ("Log(offset=1e+300)",)),
        (lambda: FrequencyMask(1, 5, 1e300), ("FrequencyMask fill=1e+300", "1e+30")),
        (lambda: TimeMask(1, 5, fill=-1e300), ("TimeMask fill",)),
        (lambda: DCT(13, lifter=1e300), ("DCT(lifter=1e+300)",)),
        (lambda: MelFilterbank(40, fmax=1e300), ("MelFilterbank(fmax=1e+300)", "4e+06")),
        (lambda: VTLP(f_hi=1e300), ("VTLP f_hi=1e+300",)),
        (lambda: Deltas(stack="no"), ("Deltas(stack='no')", "True or False")),  # bool("no") is True
        (lambda: LogEnergy(windowed="no"), ("LogEnergy(windowed='no')",)),
    ):
        with raises(ConfigError, *fragments):
            build()
    largest = SpectrogramConfig(features=(MelFilterbank(40), Decibels(multiplier=limits.MAX_FEATURE_CONSTANT)))
    assert np.isfinite(np.asarray(jaxspec.spectrogram(largest, _tone()))).all()


def test_a_callable_drawing_a_non_scalar_names_its_parameter(key):
    config = SpectrogramConfig(augmentation=Augmentation(volume=Volume(lambda k: jnp.ones(3))))
    with raises(ConfigError, "Volume gain=", "shape (3,)", "scalar"):  # only the trace can see it
        jaxspec.spectrogram(config, _tone(), key)


@pytest.mark.parametrize(
    "build, fragments",
    [
        (lambda: Augmentation(volume=1e39), ("Volume gain", "1e+39", "10000")),
        (lambda: Augmentation(volume=Volume((-1e39, 0.0))), ("Volume gain", "-1e+39")),
        (lambda: Augmentation(noise=7.7e214), ("Noise amplitude", "7.7e+214")),
        (lambda: SpectrogramConfig(normalization=("max", 1e30)), ("normalization", "1e+30", "10000")),
        (lambda: Uniform(-1e39, 0.0), ("low", "1e+39")),
        (lambda: Augmentation(time_shift=(-1e30, 1e30)), ("TimeShift t", "1e+30")),
        (lambda: Augmentation(time_shift=jaxspec.Scaled(1e9)), ("Scaled s", "1000")),
        (lambda: Augmentation(volume=jaxspec.Normal(0.0, 1e4)), ("Volume gain", "60000")),
        (lambda: SpectrogramConfig(window_function=[1e30] * 400), ("window_function", "1e+30")),
        (
            lambda: SpectrogramConfig(augmentation=Augmentation(noise=Noise(1.0, np.full(100, 1e20, np.float32)))),
            ("Noise signal", "1e+20"),
        ),
        (
            lambda: SpectrogramConfig(
                normalization=("rms", 1e4), power=8.0, augmentation=Augmentation(volume=1e4, noise=1e4)
            ),
            ("overflow float32",),
        ),
    ],
)
def test_magnitudes_above_their_caps_are_config_errors(build, fragments):
    with raises(ConfigError, *fragments):
        build()


def test_the_largest_accepted_magnitudes_stay_finite(key):
    config = SpectrogramConfig(
        normalization=("max", limits.MAX_LEVEL),
        augmentation=Augmentation(volume=limits.MAX_GAIN, noise=(0.0, limits.MAX_GAIN), time_shift=(-0.01, 0.01)),
    )
    out = np.asarray(jaxspec.spectrogram(config, _tone(), key))
    assert np.isfinite(out).all() and out.max() > 0
    far = SpectrogramConfig(augmentation=Augmentation(time_shift=(-1e6, 1e6)))
    assert np.isfinite(np.asarray(jaxspec.spectrogram(far, _tone(), key))).all()  # shifted out: silence
    huge = SpectrogramConfig(augmentation=Augmentation(volume=lambda k: np.float32(3e38) / jax.random.uniform(k)))
    assert np.isfinite(np.asarray(jaxspec.spectrogram(huge, _tone(), key))).all()  # callables are clipped


def test_samples_too_large_for_a_finite_spectrum_are_input_errors(key):
    with raises(InputError, "x has samples up to 1e+30", "finite"):
        jaxspec.spectrogram(SpectrogramConfig(), np.full(1000, 1e30, np.float32))
    with raises(InputError, "finite"):
        jaxspec.encode(SpectrogramConfig(), np.full(1000, 3e38, np.float32), sample_rate=RATE)
    loud = np.full(1000, 1e6, np.float32)  # large but finite all the way
    assert np.isfinite(np.asarray(jaxspec.spectrogram(SpectrogramConfig(), loud))).all()
    batch = np.zeros((3, 1000), np.float32)
    batch[1, 500] = 1e30  # a batch names the row, as its NaN message does (a SPEC audit: it named none)
    with raises(InputError, "x (row 1) has samples up to 1e+30"):
        jaxspec.spectrogram(SpectrogramConfig(), batch)


def test_a_normalization_takes_any_finite_input_but_resampling_and_channels_are_bounded():
    # normalize divides by the peak first: nothing before it can overflow for a finite input
    for normalization in ("max", ("rms", 0.1)):
        config = SpectrogramConfig(normalization=normalization)
        out = np.asarray(jaxspec.spectrogram(config, 1e30 * _tone()))
        np.testing.assert_allclose(
            out, np.asarray(jaxspec.spectrogram(config, _tone())), rtol=1e-5, atol=1e-6 * out.max()
        )
    config = SpectrogramConfig(normalization=("rms", 0.1))
    with raises(InputError, "too large to resample from 44100 Hz"):  # the resampler's FFT sums ~7000 samples
        jaxspec.encode(config, np.full(1000, 1e34, np.float32), sample_rate=44100)
    assert np.isfinite(np.asarray(jaxspec.encode(config, 1e28 * _tone(), sample_rate=44100))).all()
    with raises(InputError, "NaN or infinite"), np.errstate(over="ignore"):  # 3e38 + 3e38 is inf in float32
        jaxspec.encode(config, np.full((1000, 2), 3e38, np.float32), sample_rate=RATE)


def test_an_output_too_large_for_memory_is_an_input_error_before_allocating(tmp_path):
    config = SpectrogramConfig(window_size=2**20, offset=1)  # 524 289 bins a frame, a frame a sample
    x = np.zeros(100_000, np.float32)  # 52 billion values (195 GiB)
    for call in (
        lambda: jaxspec.spectrogram(config, x),
        lambda: jax.jit(jaxspec.spectrogram)(config, x),
        lambda: jaxspec.encode(config, x, sample_rate=RATE),
    ):
        with raises(InputError, "100000 samples", "52428900000 values", "encode_to_file"):
            call()
    with raises(InputError, "item 1", "52428900000 values"):
        jaxspec.encode_batch(config, [x[:10], x], sample_rate=RATE)
    soundfile.write(tmp_path / "a.wav", x, RATE)
    with pytest.raises(InputError, match="values, above the cap") as error:  # the output's size, not the file's samples
        jaxspec.encode(config, str(tmp_path / "a.wav"))
    assert not isinstance(error.value, jaxspec.AudioSamplesError)
    assert jaxspec.spectrogram(config, x[:4]).shape == (4, 2**19 + 1)  # small inputs still work


def test_a_batch_too_large_for_memory_together_is_an_input_error_before_allocating():
    # each row's output is under the cap (2.0e8 values); the batch's 1.3e10 (52 GB) aborted the process
    config = SpectrogramConfig(window_size=4096, offset=1)
    x = np.zeros((64, 100_000), np.float32)
    for call in (lambda: jaxspec.spectrogram(config, x), lambda: jax.jit(jaxspec.spectrogram)(config, x)):
        with raises(InputError, "64 rows x 100000 samples", "13113600000 values", "fewer rows"):
            call()
    with raises(InputError, "64 rows", "fewer rows"):
        jaxspec.spectrogram(config, x, lengths=np.full(64, 10))
    assert jaxspec.spectrogram(config, x[:2, :1000]).shape == (2, 1000, 2049)


def test_an_audio_with_a_contradicting_sample_rate_is_an_input_error():
    audio = Audio(_tone()[:800], 8000)
    assert jaxspec.encode(SpectrogramConfig(), audio, sample_rate=8000).shape == (13, 201)
    with raises(InputError, "sample_rate=16000", "rate 8000"):
        jaxspec.encode(SpectrogramConfig(), audio, sample_rate=16000)


def test_a_file_with_samples_too_large_names_the_file(tmp_path):
    loud, bad = tmp_path / "loud.wav", tmp_path / "nan.wav"
    soundfile.write(loud, np.full(1000, 1e30, np.float32), RATE, subtype="FLOAT")
    soundfile.write(bad, np.full(1000, np.nan, np.float32), RATE, subtype="FLOAT")
    # a file error (SPEC section 5: every file error is an AudioFileError) and an input error
    for error in (AudioFileError, InputError, jaxspec.AudioSamplesError):
        for stream in (False, True):
            with raises(error, str(loud), "too large"):
                jaxspec.encode(SpectrogramConfig(), str(loud), stream=stream)
            with raises(error, str(bad), "NaN"):
                jaxspec.encode(SpectrogramConfig(), str(bad), stream=stream)
        with raises(error, str(bad), "NaN"):
            jaxspec.load_audio(bad)


def test_info_refuses_a_rate_that_encode_refuses(tmp_path, capsys):
    slow = tmp_path / "one_hz.wav"
    soundfile.write(slow, np.zeros(100, np.float32), 1)
    with raises(AudioFileError, str(slow), "1 Hz -> 16000 Hz"):
        jaxspec.encode(SpectrogramConfig(), str(slow))
    code, _, stderr = _cli(capsys, "info", slow)
    assert code == 1 and "1 Hz -> 16000 Hz" in stderr  # was: a predicted output shape


@pytest.mark.parametrize("shape", [(10, 0), (0, 0)])
def test_n_by_0_arrays_are_input_errors(shape):
    with raises(InputError, "[n, 0]"):
        jaxspec.encode(SpectrogramConfig(), np.zeros(shape, np.float32), sample_rate=RATE)
    with raises(InputError, "channel"):
        Audio(np.zeros(shape, np.float32), RATE)


# ------------------------------------------------------------------ 7. truncated audio and lying headers
def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_a_wav_cut_mid_data_warns_naming_the_path(tmp_path):
    cut = _cut(_wav(tmp_path / "cut.wav", 16000, subtype="PCM_16"), 0.5)
    with pytest.warns(TruncatedAudioWarning, match=re.escape(str(cut))):
        audio = jaxspec.load_audio(cut)
    assert 7900 < audio.num_samples < 8100
    with pytest.warns(TruncatedAudioWarning, match="16000"):
        jaxspec.encode(SpectrogramConfig(), str(cut), stream=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.load_audio(_wav(tmp_path / "whole.wav", 16000))  # a whole file: no warning


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_an_aiff_cut_mid_data_warns_as_a_wav_does(tmp_path, subtype):
    # its COMM chunk declares 16000 frames; 11993 decoded, silently (only RIFF/WAVE was read)
    cut = _cut(_wav(tmp_path / "cut.aiff", 16000, format="AIFF", subtype=subtype), 0.75)
    with pytest.warns(TruncatedAudioWarning, match="but its header declares 16000"):
        audio = jaxspec.load_audio(cut)
    assert 11900 < audio.num_samples < 12100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.load_audio(_wav(tmp_path / "whole.aiff", 16000, format="AIFF", subtype=subtype))


@pytest.mark.parametrize(
    "name, format, subtype, keep",
    [
        ("cut.rf64.wav", "RF64", "PCM_16", 0.75),
        ("cut.w64", "W64", "PCM_24", 0.75),
        ("cut.au", "AU", "ULAW", 0.75),
        ("cut.caf", "CAF", "FLOAT", 0.99),  # libsndfile refuses a CAF cut by more as malformed
        ("cut.nist", "NIST", "PCM_16", 0.75),
    ],
)
def test_other_headers_that_count_frames_warn_when_cut(tmp_path, name, format, subtype, keep):
    # each header declares 16000 frames; libsndfile decoded what was left, silently
    cut = _cut(_wav(tmp_path / name, 16000, format=format, subtype=subtype), keep)
    with pytest.warns(TruncatedAudioWarning, match="but its header declares 16000"):
        audio = jaxspec.load_audio(cut)
    assert 11500 < audio.num_samples < 16000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.load_audio(_wav(tmp_path / f"whole-{name}", 16000, format=format, subtype=subtype))


@pytest.mark.parametrize("subtype", ["IMA_ADPCM", "MS_ADPCM", "GSM610"])
def test_compressed_wavs_read_whole_and_warn_when_cut(tmp_path, subtype):
    # a GSM 6.10 WAV (which libsndfile cannot seek) failed to load in memory ("frames must be
    # specified for non-seekable files") but streamed; a cut ADPCM / GSM WAV decoded short
    # silently (the data size over block_align counts blocks: its fact chunk counts frames)
    whole = _wav(tmp_path / "whole.wav", 16000, subtype=subtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio = jaxspec.load_audio(whole)
        in_memory = jaxspec.encode(SpectrogramConfig(), str(whole))
    np.testing.assert_array_equal(audio.samples, soundfile.read(whole, dtype="float32")[0])
    np.testing.assert_array_equal(in_memory, jaxspec.encode(SpectrogramConfig(), str(whole), stream=True))
    cut = _cut(_wav(tmp_path / "cut.wav", 16000, subtype=subtype), 0.6)
    declares = r"but its header declares 16(000|272)"  # libsndfile's IMA writer counts whole blocks
    with pytest.warns(TruncatedAudioWarning, match=declares):
        assert jaxspec.load_audio(cut).num_samples < 11000
    with pytest.warns(TruncatedAudioWarning, match=declares):
        jaxspec.encode(SpectrogramConfig(), str(cut), stream=True)


@pytest.mark.parametrize("subtype", ["IMA_ADPCM", "MS_ADPCM"])
def test_a_cut_stereo_adpcm_wav_warns(tmp_path, subtype):
    # libsndfile writes a stereo IMA ADPCM file's fact chunk as half its frames: a cut that kept
    # 60 % of it decoded short without a word (an audit); its data chunk's size tells the cut
    stereo = np.stack([_tone(3 * RATE), _tone(3 * RATE, 620.0)], axis=1)
    soundfile.write(tmp_path / "whole.wav", stereo, RATE, subtype=subtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jaxspec.load_audio(tmp_path / "whole.wav").samples.shape[0] >= 3 * RATE - 2048
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: int(len(data) * 0.6)])
    for read in (jaxspec.load_audio, lambda p: jaxspec.encode(SpectrogramConfig(), p, stream=True)):
        with pytest.warns(TruncatedAudioWarning, match=r"frames but its header declares 4[78]\d{3}"):
            read(tmp_path / "cut.wav")


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    magic=st.sampled_from(
        [
            b"RIFF\0\0\0\0WAVE",
            b"RF64\xff\xff\xff\xffWAVE",
            b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000"),
            b".snd",
            b"dns.",
            b"caff\x00\x01\x00\x00",
            b"NIST_1A\n",
            b"FORM\0\0\0\0AIFC",
        ]
    ),
    rest=st.binary(max_size=300),
)
@hypothesis.example(  # a Wave64 chunk of 2**63 bytes: the seek past it raised ValueError
    magic=b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000"),
    rest=bytes(24) + b"fmt " + bytes(12) + b"\0" * 7 + b"\x80",
)
def test_any_bytes_after_a_known_magic_give_a_count_or_none(tmp_path_factory, magic, rest):
    # sizes near 2**63 made a seek raise ValueError; a 4 GB chunk size asked read() for 4 GB
    path = tmp_path_factory.mktemp("magic") / "file"
    path.write_bytes(magic + rest)
    count = _declared.declared_frames(path)
    assert count is None or (isinstance(count, int) and count >= 0)


def test_lying_headers(tmp_path, capsys):
    data = bytearray(_wav(tmp_path / "src.wav", 4000, subtype="PCM_16").read_bytes())
    at = data.find(b"data")
    lying = bytearray(data)
    lying[at + 4 : at + 8] = struct.pack("<I", 0x7FFFFFF0)  # declares far more data than there is
    (tmp_path / "lie.wav").write_bytes(lying)
    with pytest.warns(TruncatedAudioWarning, match="lie.wav"):
        assert jaxspec.load_audio(tmp_path / "lie.wav").num_samples == 4000
    rate = bytearray(data)
    rate[24:28] = struct.pack("<I", 10**9)
    (tmp_path / "rate.wav").write_bytes(rate)
    with raises(AudioFileError, "rate.wav", "1000000000 Hz", str(limits.MAX_SAMPLE_RATE)):
        jaxspec.encode(SpectrogramConfig(), str(tmp_path / "rate.wav"))
    code, _, err = _cli(capsys, "encode", tmp_path / "lie.wav", "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_OK and "warning:" in err and "lie.wav" in err


def test_info_warns_on_a_cut_wav_as_encode_does(tmp_path, capsys):
    cut = _cut(_wav(tmp_path / "cut.wav", 16000, subtype="PCM_16"), 0.5)
    code, out, err = _cli(capsys, "info", cut)
    assert code == EXIT_OK and "(61, 201)" in out  # the frames it holds, as encode makes
    assert "warning:" in err and "cut.wav" in err and "declares 16000" in err
    code, _, err = _cli(capsys, "info", _wav(tmp_path / "whole.wav", 16000, subtype="PCM_16"))
    assert code == EXIT_OK and "warning" not in err


def test_cut_flac_is_an_audio_file_error_streamed_or_not(tmp_path):
    flac = tmp_path / "cut.flac"
    soundfile.write(flac, np.random.default_rng(0).standard_normal(40000).astype(np.float32) * 0.1, RATE)
    _cut(flac, 0.5)
    for stream in (False, True):
        with raises(AudioFileError, str(flac)):
            jaxspec.encode(SpectrogramConfig(), str(flac), stream=stream)


def _flac_declaring(path: Path, total: int) -> Path:
    """``path`` (a FLAC) with STREAMINFO's 36-bit total sample count set to ``total``."""
    data = bytearray(path.read_bytes())
    fields = int.from_bytes(data[18:26], "big")  # rate, channels, bits, total
    data[18:26] = (fields & ~((1 << 36) - 1) | total).to_bytes(8, "big")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("subtype, channels", [("PCM_16", 1), ("PCM_24", 2), ("PCM_S8", 1)])
def test_a_flac_whose_header_understates_its_length_is_an_error_not_a_cut(tmp_path, capsys, subtype, channels):
    # libsndfile stops at STREAMINFO's count: a 3 s file declaring 1 s encoded 1 s, silently
    # (its last frame's header says where the audio ends)
    wave = np.random.default_rng(0).standard_normal((48000, channels)).astype(np.float32) * 0.1
    soundfile.write(tmp_path / "whole.flac", wave, RATE, subtype=subtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jaxspec.load_audio(tmp_path / "whole.flac").num_samples == 48000
    tagged = tmp_path / "tagged.flac"  # an ID3v1 tag after the audio: still told
    tagged.write_bytes((tmp_path / "whole.flac").read_bytes() + b"TAG" + bytes(125))
    assert _file_ends.flac_frames(tagged) == 48000
    under = _flac_declaring(tmp_path / "whole.flac", 16000)
    with raises(AudioFileError, "whole.flac", "declares 16000 frames", "runs to 48000"):
        jaxspec.load_audio(under)
    for stream in (False, True):
        with raises(AudioFileError, "runs to 48000"):
            jaxspec.encode(SpectrogramConfig(), str(under), stream=stream)
    code, _, err = _cli(capsys, "info", under)
    assert code != EXIT_OK and "runs to 48000" in err


def test_a_flac_whose_frame_numbers_do_not_start_at_0_counts_from_its_first_frame(tmp_path):
    # a stream cut without re-encoding keeps its frames' numbers: counted from 0, its audio
    # would seem to run past a right header (and the file refused)
    soundfile.write(tmp_path / "whole.flac", np.random.default_rng(0).standard_normal(48000).astype(np.float32), RATE)
    data = (tmp_path / "whole.flac").read_bytes()
    first = 4
    while True:  # the metadata blocks, to the last one
        last, first = data[first] & 0x80, first + 4 + int.from_bytes(data[first + 1 : first + 4], "big")
        if last:
            break
    third = first
    for number in (1, 2, 3):  # the next frame header: sync, then its number (1 byte below 128)
        third = data.index(b"\xff\xf8", third + 2)
        while data[third + 4] != number:
            third = data.index(b"\xff\xf8", third + 2)
    block = int.from_bytes(data[10:12], "big")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[:first] + data[third:])
    cut = _flac_declaring(cut, 48000 - 3 * block)
    assert _file_ends.flac_frames(cut) == 48000 - 3 * block


@pytest.mark.skipif("MP3" not in soundfile.available_formats(), reason="libsndfile without MP3")
def test_mp3_files_joined_end_to_end_are_an_error_not_a_cut(tmp_path, capsys):
    # mpg123 stops at the first file's Xing frame count: `cat a.mp3 b.mp3` encoded a.mp3 alone
    rng = np.random.default_rng(0)
    for name, seconds in (("a", 1), ("b", 3)):
        soundfile.write(tmp_path / f"{name}.mp3", rng.standard_normal(seconds * RATE).astype(np.float32) * 0.1, RATE)
    first, second = ((tmp_path / f"{name}.mp3").read_bytes() for name in "ab")
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x05" + bytes(5)  # the second file's own ID3v2 tag, 5 bytes
    for joined in (first + second, first + tag + second):
        (tmp_path / "joined.mp3").write_bytes(joined)
        with raises(AudioFileError, "joined.mp3", f"MPEG audio goes on at byte {len(first)}"):
            jaxspec.encode(SpectrogramConfig(), str(tmp_path / "joined.mp3"))
    code, _, err = _cli(capsys, "info", tmp_path / "joined.mp3")
    assert code != EXIT_OK and "joined end to end" in err
    (tmp_path / "tagged.mp3").write_bytes(first + b"TAG" + bytes(125))  # an ID3v1 tag: no more audio
    for path in (tmp_path / "a.mp3", tmp_path / "tagged.mp3"):
        assert _file_ends.mp3_joined(path) is None
        assert jaxspec.encode(SpectrogramConfig(), str(path)).shape == (121, 201)


@pytest.mark.skipif("MP3" not in soundfile.available_formats(), reason="libsndfile without MP3")
def test_an_mp3_without_a_xing_header_whose_bitrate_varies_is_an_error_not_a_cut(tmp_path, capsys):
    # mpg123 estimates such a file's length from its first frame's bitrate and stops there: a
    # loud start (a high bitrate) then a quiet tone decoded to 17 % of the audio, exit 0 (an audit)
    rng = np.random.default_rng(0)
    x = (0.1 * np.sin(2 * np.pi * 440 * np.arange(40000) / RATE)).astype(np.float32)
    x[:4000] = 0.5 * rng.standard_normal(4000)
    for name, samples in (("vbr", x), ("cbr", np.zeros(40000, np.float32))):  # silence: one bitrate
        soundfile.write(tmp_path / f"{name}.mp3", samples, RATE)
        data = (tmp_path / f"{name}.mp3").read_bytes()
        header = max(data.find(b"Xing"), data.find(b"Info"))
        assert header > 0
        (tmp_path / f"{name}_bare.mp3").write_bytes(data[data.find(data[:2], header) :])  # the frames after it
    frames = 0  # MPEG 2 Layer III at 16 kHz: 576 samples a frame, counted here by their headers
    data, at = (tmp_path / "vbr_bare.mp3").read_bytes(), 0
    kbps = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
    while at + 4 <= len(data) and data[at] == 0xFF:
        frames, at = frames + 1, at + 72000 * kbps[data[at + 2] >> 4] // RATE + ((data[at + 2] >> 1) & 1)
    assert soundfile.info(str(tmp_path / "vbr_bare.mp3")).frames < frames * 576 // 2  # the estimate
    with raises(AudioFileError, "vbr_bare.mp3", f"its MPEG frames hold {frames * 576} samples", "no Xing"):
        jaxspec.encode(SpectrogramConfig(), str(tmp_path / "vbr_bare.mp3"))
    code, _, err = _cli(capsys, "info", tmp_path / "vbr_bare.mp3")
    assert code != EXIT_OK and "no Xing / Info header" in err
    for name in ("vbr", "cbr", "cbr_bare"):  # a Xing header counts; one bitrate: the estimate is right
        path = tmp_path / f"{name}.mp3"
        assert _file_ends.mp3_walked(path, soundfile.info(str(path)).frames) is None
    assert jaxspec.load_audio(tmp_path / "cbr_bare.mp3").num_samples >= 40000
    # one bitrate is never told, however far off: the estimate misses padding bytes only (a padded
    # first frame put an 8.7-minute CBR stream 51 ms short, and it was refused; the review)
    assert _file_ends.mp3_walked(tmp_path / "cbr_bare.mp3", 0) is None


def test_an_ogg_file_cut_mid_stream_warns(tmp_path, capsys):
    # libsndfile counts an Ogg file by its last whole page: half a file read as a whole one
    whole = tmp_path / "whole.ogg"
    soundfile.write(whole, np.random.default_rng(0).standard_normal(10 * RATE).astype(np.float32) * 0.1, RATE)
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jaxspec.load_audio(whole)
        jaxspec.encode(SpectrogramConfig(), str(whole), stream=True)
    with pytest.warns(TruncatedAudioWarning, match="cut.ogg' ends without its Ogg end-of-stream page"):
        assert jaxspec.load_audio(cut).num_samples < 7 * RATE
    for stream in (False, True):
        with pytest.warns(TruncatedAudioWarning, match="end-of-stream"):
            jaxspec.encode(SpectrogramConfig(), str(cut), stream=stream)
    code, _, err = _cli(capsys, "info", cut)
    assert code == EXIT_OK and "end-of-stream" in err


def _crc16_count(monkeypatch) -> list:
    """Calls of ``_file_ends._crc`` for a CRC-16 (one per FLAC frame checked), recorded."""
    calls, crc = [], _file_ends._crc
    monkeypatch.setattr(_file_ends, "_crc", lambda data, poly, width: calls.append(width) or crc(data, poly, width))
    return calls


def test_a_flac_end_is_told_by_one_crc16_and_tags_are_skipped(tmp_path, monkeypatch):
    # every 0xFFF8 in the last megabyte had its CRC-16 computed in Python: 2.5 s per load
    # of a cut 20 s FLAC or one with an APEv2 tag, a minute for a 10-minute one
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "a.flac", rng.standard_normal(20 * RATE).astype(np.float32) * 0.1, RATE)
    whole = (tmp_path / "a.flac").read_bytes()
    ape = b"item" * 25 + b"APETAGEX" + struct.pack("<4I8x", 2000, 132, 1, 0)  # 100 bytes of items, footer
    cases = {
        "cut": (whole[:-5000], None),
        "ape": (whole + ape, 20 * RATE),
        "both": (whole + ape + b"TAG" + bytes(125), 20 * RATE),
    }
    for name, (data, frames) in cases.items():
        (tmp_path / name).write_bytes(data)
        calls = _crc16_count(monkeypatch)
        assert _file_ends.flac_frames(tmp_path / name) == frames, name
        assert calls.count(16) <= 1, name
    calls = _crc16_count(monkeypatch)  # a header that counts all the audio: no CRC-16 to compute
    assert jaxspec.load_audio(tmp_path / "a.flac").num_samples == 20 * RATE and calls.count(16) == 0


def test_files_of_other_formats_pay_no_container_checks(tmp_path, monkeypatch):
    # a WAV load opened the file three more times (FLAC, MP3 and Ogg checks): +30 % per file
    def refuse(path):
        raise AssertionError(f"checked {path}")

    for name in ("flac_frames", "mp3_joined", "mp3_walked", "ogg_cut"):
        monkeypatch.setattr(_file_ends, name, refuse)
    wav = _wav(tmp_path / "a.wav", 16000)
    assert jaxspec.load_audio(wav).num_samples == 16000
    assert jaxspec.encode(SpectrogramConfig(), str(wav), stream=True).shape == (121, 201)


def test_an_ogg_file_with_padding_or_a_tag_after_its_last_page_is_whole(tmp_path):
    soundfile.write(tmp_path / "a.ogg", np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1, RATE)
    whole = (tmp_path / "a.ogg").read_bytes()
    for name, data in (("zeros", whole + bytes(4096)), ("tag", whole + b"TAG" + bytes(125)), ("whole", whole)):
        (tmp_path / name).write_bytes(data)
        assert not _file_ends.ogg_cut(tmp_path / name), name
    (tmp_path / "cut").write_bytes(whole[:-100] + bytes(100))
    assert _file_ends.ogg_cut(tmp_path / "cut")


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_ogg_files_joined_end_to_end_are_an_error_not_the_first_alone(tmp_path, capsys, subtype):
    # libsndfile decodes the first stream of `cat a.ogg b.ogg` alone: 1 s of 4, silently
    rng = np.random.default_rng(0)
    for name, seconds in (("a", 1), ("b", 3)):
        wave = rng.standard_normal(seconds * RATE).astype(np.float32) * 0.1
        soundfile.write(tmp_path / f"{name}.ogg", wave, RATE, format="OGG", subtype=subtype)
    (tmp_path / "joined.ogg").write_bytes((tmp_path / "a.ogg").read_bytes() + (tmp_path / "b.ogg").read_bytes())
    for read in (jaxspec.load_audio, lambda path: jaxspec.encode(SpectrogramConfig(), str(path), stream=True)):
        with raises(AudioFileError, "joined.ogg", "joined end to end"):
            read(tmp_path / "joined.ogg")
    code, _, err = _cli(capsys, "info", tmp_path / "joined.ogg")
    assert code != EXIT_OK and "does not start the file" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jaxspec.load_audio(tmp_path / "b.ogg").num_samples == 3 * RATE


@pytest.mark.skipif("MP3" not in soundfile.available_formats(), reason="libsndfile without MP3")
def test_joined_mp3_is_told_past_an_id3v1_tag_and_a_zero_byte_count_is_no_join(tmp_path):
    rng = np.random.default_rng(0)
    for name in "ab":
        soundfile.write(tmp_path / f"{name}.mp3", rng.standard_normal(RATE).astype(np.float32) * 0.1, RATE)
    first, second = ((tmp_path / f"{name}.mp3").read_bytes() for name in "ab")
    (tmp_path / "tagged.mp3").write_bytes(first + b"TAG" + bytes(125) + second)
    assert _file_ends.mp3_joined(tmp_path / "tagged.mp3") == len(first)
    # an encoder killed before it wrote the Xing byte count leaves 0 there: not joined
    at = first.index(b"Xing") if b"Xing" in first else first.index(b"Info")
    count_at = at + 8 + (4 if first[at + 7] & 1 else 0)
    unfinished = first[:count_at] + bytes(4) + first[count_at + 4 :]
    (tmp_path / "unfinished.mp3").write_bytes(unfinished)
    assert _file_ends.mp3_joined(tmp_path / "unfinished.mp3") is None
    assert jaxspec.load_audio(tmp_path / "unfinished.mp3").num_samples > 0


def test_a_flac_header_overstating_past_the_cap_is_gathered_as_info_shows(tmp_path, capsys):
    # the in-memory stream (jaxspec encode --single) refused by the header's 2**36 frames where
    # info and encode_to_file counted the 3 s the file holds
    huge = tmp_path / "huge.flac"
    soundfile.write(huge, np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.1, RATE)
    _flac_declaring(huge, (1 << 36) - 1)
    with pytest.warns(TruncatedAudioWarning, match="holds 48000 frames"):
        assert stream_to_array(SpectrogramConfig(), huge).shape == (361, 201)
    code, _, _ = _cli(capsys, "encode", huge, "-o", tmp_path / "h.npz", "--no-progress")
    assert code == EXIT_OK and np.load(tmp_path / "h.npz")["huge"].shape == (361, 201)


def test_a_flac_header_overstating_under_the_cap_allocates_what_the_file_holds(tmp_path):
    # 2e9 frames x 8 channels (under the cap of frames) asked numpy for 59.6 GiB for a 220 kB
    # file: "Unable to allocate" wherever it was read whole (load_audio, encode with a key, Grain)
    import tracemalloc

    lying = tmp_path / "lying.flac"
    soundfile.write(lying, np.random.default_rng(0).standard_normal((RATE, 8)).astype(np.float32) * 0.1, RATE)
    _flac_declaring(lying, 2_000_000_000)
    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5)))
    tracemalloc.start()
    try:
        with pytest.warns(TruncatedAudioWarning, match="decoded to 16000 frames but its header declares 2000000000"):
            assert jaxspec.load_audio(lying).samples.shape == (RATE, 8)
        with pytest.warns(TruncatedAudioWarning, match="declares 2000000000"):
            assert jaxspec.encode(config, str(lying), key=jax.random.key(0)).shape == (121, 201)
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(magic=st.sampled_from([b"fLaC", b"OggS", b"ID3", b"\xff\xfb\x90\x64"]), rest=st.binary(max_size=400))
def test_any_bytes_after_a_flac_ogg_or_mp3_magic_give_an_answer(tmp_path_factory, magic, rest):
    path = tmp_path_factory.mktemp("ends") / "file"
    path.write_bytes(magic + rest)
    frames, joined = _file_ends.flac_frames(path), _file_ends.mp3_joined(path)
    assert frames is None or (isinstance(frames, int) and frames > 0)
    assert joined is None or (isinstance(joined, int) and 0 < joined < len(magic + rest))
    walked = _file_ends.mp3_walked(path, 0)
    assert walked is None or (isinstance(walked, int) and walked % 576 == 0 and walked > 0)
    assert _file_ends.ogg_cut(path) in (True, False)
    assert _file_ends.ogg_chained(path) is None or len(_file_ends.ogg_chained(path)) == 8
    for kind in ("FLAC", "OGG", "MP3", "WAV"):
        assert _file_ends.lost_audio(path, kind, 1) is None or "decoder" in _file_ends.lost_audio(path, kind, 1)


# ------------------------------------------------------------------ 8. jaxspec errors, not raw exceptions
def test_zero_d_inputs_are_input_errors():
    for x in (np.float32(1.0), np.array(1.0), jax.numpy.float32(2.0), 3.0):
        with raises(InputError, "0-d"):
            jaxspec.spectrogram(SpectrogramConfig(), x)
        with raises(InputError, "0-d"):
            jaxspec.encode(SpectrogramConfig(), x, sample_rate=RATE)


def test_a_path_passed_to_spectrogram_is_an_input_error(tmp_path):
    for path in ("speech.wav", tmp_path / "a.wav", b"a.wav"):
        with raises(InputError, "path"):
            jaxspec.spectrogram(SpectrogramConfig(), path)


@pytest.mark.parametrize("window", [{}, ["hann"], [], [True] * 400, object()])
def test_bad_window_function_forms_are_config_errors(window):
    with raises(ConfigError, "window_function"):
        SpectrogramConfig(window_function=window)
    if isinstance(window, (dict, list)):  # the JSON forms
        with raises(ConfigError, "window_function"):
            SpectrogramConfig.from_dict({"window_function": window})


def test_a_numpy_scalar_in_a_noise_range_is_a_range(key):
    augmentation = Augmentation(noise=(0.1, np.float32(1.0)))
    assert augmentation.noise.amplitude == Uniform(0.1, 1.0)
    config = SpectrogramConfig(augmentation=augmentation)
    assert np.isfinite(np.asarray(jaxspec.encode(config, _tone(), sample_rate=RATE, key=key))).all()


def test_objects_with_a_shape_are_not_recordings():
    class Shaped:
        shape = (100,)

    with raises(ConfigError, "not a recording"):
        Noise(0.1, Shaped())
    with raises(ConfigError):
        Augmentation(noise=Shaped())
    with raises(ConfigError, "not a recording"):
        jaxspec.Convolution(Shaped())


def test_streamed_bad_files_raise_audio_file_errors_naming_the_path(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(np.random.default_rng(0).bytes(3000))
    with raises(AudioFileError, str(bad)):
        jaxspec.encode(SpectrogramConfig(), str(bad), stream=True)
    with raises(AudioFileError, str(bad)):
        list(jaxspec.stream.stream_spectrogram(SpectrogramConfig(), bad))


def test_hostile_json_config_files(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with raises(ConfigError, "deep.json", "nests deeper", str(limits.MAX_JSON_DEPTH)):
        SpectrogramConfig.load(deep)
    nested = tmp_path / "nested.json"
    value = 1
    for _ in range(40):
        value = [value]
    nested.write_text(json.dumps({"augmentation": {"volume": {"gain": value}}}))
    with raises(ConfigError, "nests deeper"):
        SpectrogramConfig.load(nested)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"offset": "\xff\xfe"}')
    with raises(ConfigError, "binary.json", "UTF-8"):
        SpectrogramConfig.load(binary)
    big = tmp_path / "big.json"
    with open(big, "wb") as file:
        file.truncate(limits.MAX_CONFIG_BYTES + 1)
    with raises(ConfigError, "big.json", str(limits.MAX_CONFIG_BYTES)):
        SpectrogramConfig.load(big)
    digits = tmp_path / "digits.json"
    digits.write_text('{"offset": ' + "9" * 5000 + "}")
    with raises(ConfigError, "digits.json"):
        SpectrogramConfig.load(digits)
    ragged = tmp_path / "ragged.json"
    ragged.write_text(json.dumps({"augmentation": {"noise": {"signal": {"samples": [[1, 2], [3]]}}}}))
    with raises(ConfigError, "samples"):
        SpectrogramConfig.load(ragged)


def test_json_config_keys_given_twice_are_errors_and_a_byte_order_mark_is_read(tmp_path):
    file = tmp_path / "c.json"
    file.write_text('{"window_size": 512, "augmentation": {"volume": {"gain": 1, "gain": 2}}}')
    with raises(ConfigError, "'gain' is given twice"):  # json.loads kept the last one silently
        SpectrogramConfig.load(file)
    file.write_bytes(b'\xef\xbb\xbf{"window_size": 512}')  # as some Windows editors save UTF-8
    assert SpectrogramConfig.load(file).window_samples == 512


def test_cli_bad_config_file_is_a_clear_error_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{")
    code, _, err = _cli(capsys, "config", "--config", bad)
    assert code == EXIT_USAGE and "UTF-8" in err
    code, _, err = _cli(capsys, "config", "--config", tmp_path / "missing.json")
    assert code == EXIT_USAGE and "does not exist" in err


def test_cli_unexpected_errors_print_one_line(tmp_path, capsys, monkeypatch):
    from jaxspec.cli import commands

    def boom(args):
        raise TypeError("an unexpected bug")

    monkeypatch.setattr(commands, "config_from_args", boom)
    code, _, err = _cli(capsys, "encode", tmp_path, "-o", tmp_path / "o")
    assert code == EXIT_FAILED and "unexpected error: TypeError: an unexpected bug" in err


def _four_files_and_ctrl_c_after_two(tmp_path):
    """A folder of 4 WAVs, the real ``encode_files`` and one that raises Ctrl-C after 2 results."""
    from jaxspec.cli import commands

    folder = tmp_path / "in"
    folder.mkdir()
    for name in "abcd":
        _wav(folder / f"{name}.wav")
    real = commands.encode_files

    def interrupted(*args, **kwargs):
        for i, result in enumerate(real(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield result

    return folder, real, interrupted


def test_cli_sigint_ends_with_a_summary_line(tmp_path, capsys, monkeypatch):
    from jaxspec.cli import commands

    folder, real, interrupted = _four_files_and_ctrl_c_after_two(tmp_path)
    monkeypatch.setattr(commands, "encode_files", interrupted)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_INTERRUPTED
    assert out.startswith("interrupted: 2 written, 0 failed") and "2 not done" in out
    assert "(rerun the same command to resume)" in out
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == ["a.npy", "b.npy"]
    monkeypatch.setattr(commands, "encode_files", real)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_OK and out.startswith("2 written, 0 failed, 2 up to date")
    # an interrupted --overwrite run cannot be resumed so: its rerun would skip or redo all
    monkeypatch.setattr(commands, "encode_files", interrupted)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress", "--overwrite")
    assert code == EXIT_INTERRUPTED and "2 not done (they keep their earlier outputs; rerun with --overwrite" in out


@pytest.mark.parametrize("single", [False, True])
def test_an_interrupted_run_counts_inputs_not_done_apart_from_paths_that_named_nothing(
    tmp_path, capsys, monkeypatch, single
):
    """A path naming nothing counts as failed but was never to do: 4 files and 3 typos, stopped
    after 2 outputs, said "0 not done" (4 - 2 - 3 + ...) instead of 2."""
    from jaxspec.cli import commands

    folder, _, interrupted = _four_files_and_ctrl_c_after_two(tmp_path)
    monkeypatch.setattr(commands, "encode_files", interrupted)
    typos = [tmp_path / f"missing{i}.wav" for i in range(3)]
    out = tmp_path / ("out.npz" if single else "out")
    code, said, _ = _cli(capsys, "encode", folder, *typos, "-o", out, "--no-progress")
    assert code == EXIT_INTERRUPTED
    # an archive is written whole: its 2 encoded inputs are not done either
    assert "0 written, 3 failed" in said if single else "2 written, 3 failed" in said
    assert ("4 not done" if single else "2 not done") in said, said


@POSIX_SIGNALS
def test_a_second_ctrl_c_while_an_interrupted_run_winds_down_changes_nothing(tmp_path, capsys, monkeypatch):
    """Ctrl-C twice: the second one landed while the decoders stopped (a traceback from the
    generator's close: "Exception ignored in <generator object encode_files>") or while the
    manifest was compacted (no summary line); an audit saw it in 5 of 8 runs."""
    import signal

    from jaxspec.cli import commands

    folder = tmp_path / "in"
    folder.mkdir()
    for name in "abcd":
        _wav(folder / f"{name}.wav")
    Manifest = manifest_module.Manifest
    real_files, real_write, real_compact = commands.encode_files, commands.outputs.write_npy, Manifest.compact
    written = []

    def files_then_ctrl_c_on_close(*args, **kwargs):
        try:
            yield from real_files(*args, **kwargs)
        finally:  # the run stops its decoders: Ctrl-C again
            os.kill(os.getpid(), signal.SIGINT)

    def write_then_ctrl_c(target, array):
        if len(written) == 2:
            raise KeyboardInterrupt  # the first Ctrl-C, in the main loop
        written.append(target)
        return real_write(target, array)

    def compact_after_ctrl_c(manifest):
        os.kill(os.getpid(), signal.SIGINT)
        return real_compact(manifest)

    monkeypatch.setattr(commands, "encode_files", files_then_ctrl_c_on_close)
    monkeypatch.setattr(commands.outputs, "write_npy", write_then_ctrl_c)
    monkeypatch.setattr(Manifest, "compact", compact_after_ctrl_c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytest reports an exception raised in a generator's close so
        code, out, err = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_INTERRUPTED
    assert out.startswith("interrupted: 2 written, 0 failed") and "2 not done" in out, out
    assert "Traceback" not in err and "Exception ignored" not in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored after the run


_STOP_CODES = {"SIGINT": EXIT_INTERRUPTED, "SIGTERM": 143, "SIGHUP": 129}  # 128 + the signal


@pytest.fixture
def sighup_default():
    """SIGHUP at its default for the test: a suite run under ``nohup`` ignores it, and the
    command line then rightly leaves it ignored."""
    import signal

    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGHUP, previous)


def _signal_after_each_write(monkeypatch, signum: int):
    """``write_npy`` sends ``signum`` to this process once each output is in place (its
    record not yet written); returns the real ``write_npy``."""
    from jaxspec.cli import commands

    real = commands.outputs.write_npy

    def write_then_signal(target, array):
        made = real(target, array)
        os.kill(os.getpid(), signum)
        return made

    monkeypatch.setattr(commands.outputs, "write_npy", write_then_signal)
    return real


@POSIX_SIGNALS
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.usefixtures("sighup_default")
def test_a_signal_between_an_outputs_rename_and_its_record_waits_for_the_record(tmp_path, capsys, monkeypatch, name):
    """A signal landing just after ``write_npy`` renamed the output left it complete but not
    recorded or counted ("interrupted: 19 written" with 20 files); the rerun made it again."""
    import signal

    from jaxspec.cli import commands

    folder = tmp_path / "in"
    folder.mkdir()
    for letter in "abc":
        _wav(folder / f"{letter}.wav")
    real = _signal_after_each_write(monkeypatch, getattr(signal, name))
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == _STOP_CODES[name]
    assert out.startswith("interrupted: 1 written, 0 failed"), out
    records = (tmp_path / "out" / ".jaxspec-manifest.jsonl").read_text().count('"name"')
    assert [p.name for p in (tmp_path / "out").glob("*.npy")] == ["a.npy"] and records == 1
    monkeypatch.setattr(commands.outputs, "write_npy", real)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_OK and out.startswith("2 written, 0 failed, 1 up to date"), out


@POSIX_SIGNALS
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_after_a_streamed_outputs_rename_waits_for_its_record(tmp_path, capsys, monkeypatch, name):
    # a long file streamed into its output: its rename came before the held block, so a signal
    # there left it complete but unrecorded ("interrupted: 0 written"), made again by the rerun
    import signal

    from jaxspec import planner
    from jaxspec.cli import pipeline

    monkeypatch.setattr(planner, "STREAM_THRESHOLD_SAMPLES", 1000)  # every file is "long"
    folder = _wav_folder(tmp_path, "ab")
    real = pipeline.encode_to_file

    def stream_then_signal(*args, **kwargs):
        shape = real(*args, **kwargs)
        os.kill(os.getpid(), getattr(signal, name))
        return shape

    monkeypatch.setattr(pipeline, "encode_to_file", stream_then_signal)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == _STOP_CODES[name] and out.startswith("interrupted: 1 written, 0 failed"), out
    assert (tmp_path / "out" / ".jaxspec-manifest.jsonl").read_text().count('"name"') == 1
    monkeypatch.setattr(pipeline, "encode_to_file", real)
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_OK and out.startswith("1 written, 0 failed, 1 up to date"), out


@POSIX_SIGNALS
@pytest.mark.usefixtures("sighup_default")
def test_sighup_with_the_terminal_gone_still_exits_129(tmp_path, monkeypatch):
    # after a hangup, writes to the closed terminal fail with EIO: the summary and the
    # "terminated" line are lost, but the exit code must still say SIGHUP (it said 1)
    import errno
    import io
    import signal

    class Gone(io.StringIO):
        def write(self, text):
            raise OSError(errno.EIO, "Input/output error")

    folder = tmp_path / "in"
    folder.mkdir()
    for letter in "ab":
        _wav(folder / f"{letter}.wav")
    _signal_after_each_write(monkeypatch, signal.SIGHUP)
    monkeypatch.setattr(sys, "stdout", Gone())
    monkeypatch.setattr(sys, "stderr", Gone())
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == 129
    assert [p.name for p in (tmp_path / "out").glob("*.npy")] == ["a.npy"]
    assert not list((tmp_path / "out").glob("*.part*"))


@POSIX_SIGNALS
def test_a_run_under_nohup_ignores_sighup(tmp_path, capsys, monkeypatch):
    # nohup starts the run with SIGHUP ignored: closing the terminal must not stop it
    import signal

    folder = tmp_path / "in"
    folder.mkdir()
    for letter in "abc":
        _wav(folder / f"{letter}.wav")
    _signal_after_each_write(monkeypatch, signal.SIGHUP)  # during the record's hold
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "out", "--no-progress")
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # still ignored after the run
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert code == EXIT_OK and out.startswith("3 written, 0 failed"), out
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == ["a.npy", "b.npy", "c.npy"]


@POSIX_SIGNALS
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.usefixtures("sighup_default")
def test_a_signal_while_the_single_archive_is_written_says_it_is_complete(tmp_path, capsys, monkeypatch, name):
    # the archive was written and recorded, but the held signal skipped the summary line
    import signal

    from jaxspec.cli import commands

    folder = tmp_path / "in"
    folder.mkdir()
    for letter in "ab":
        _wav(folder / f"{letter}.wav")
    real = commands.outputs.write_npz

    def write_then_signal(target, arrays):
        made = real(target, arrays)
        os.kill(os.getpid(), getattr(signal, name))
        return made

    monkeypatch.setattr(commands.outputs, "write_npz", write_then_signal)
    archive = tmp_path / "all.npz"
    code, out, _ = _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")
    assert code == _STOP_CODES[name]
    assert out.startswith("interrupted: 2 written, 0 failed") and "0 not done" in out, out
    assert sorted(np.load(archive)) == ["a", "b"]
    monkeypatch.setattr(commands.outputs, "write_npz", real)
    code, out, _ = _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")
    assert code == EXIT_OK and "2 up to date" in out, out


_SIGINT_SCRIPT = """
import signal, sys, time
# A shell starts background jobs with SIGINT ignored, and children inherit that: restore Python's own
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_DFL)  # and nohup's (a CI run under nohup) SIGHUP
from jaxspec.cli import commands, main
real = commands.encode_files
def slow(*args, **kwargs):
    for result in real(*args, **kwargs):
        print("item", flush=True)
        time.sleep(0.5)
        yield result
commands.encode_files = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "code, ends_at_once", [(EXIT_INTERRUPTED, True), (143, True), (129, True), (0, False), (1, False)]
)
def test_the_command_ends_at_once_after_an_interrupt(monkeypatch, capsys, code, ends_at_once):
    """An interrupt during a compile left the compile running in an XLA thread, and the
    interpreter's teardown then segfaulted under it (exit -11 instead of 130 / 143, 5 of 5
    interrupts of a first whisper run of 600 files; checked by hand against that run, since
    the timing cannot be reproduced in a test): ``run`` flushes and calls ``os._exit``."""
    from jaxspec import cli

    class Exited(Exception):
        pass

    def exit_now(status):
        raise Exited(("os._exit", status))

    def exit_normally(status):
        raise Exited(("sys.exit", status))

    import signal

    monkeypatch.setattr(cli, "main", lambda argv=None: print("summary line", end="") or code)
    monkeypatch.setattr(cli.os, "_exit", exit_now)
    monkeypatch.setattr(cli.sys, "exit", exit_normally)
    stopping = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    handlers = {signum: signal.getsignal(signum) for signum in stopping}
    try:
        with pytest.raises(Exited) as ended:
            cli.run([])
        # a finished run's teardown ignores them: a late SIGTERM ended a run that wrote
        # everything with status -15 (an audit: 4 of 5 signals sent after its summary)
        assert (signal.getsignal(signal.SIGTERM) is signal.SIG_IGN) != ends_at_once
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert ended.value.args[0] == (("os._exit" if ends_at_once else "sys.exit"), code)
    assert capsys.readouterr().out == "summary line"  # flushed before os._exit


@POSIX_SIGNALS
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_cli_real_sigint_prints_a_summary_and_no_traceback(tmp_path, name):
    # SIGTERM (timeout, docker stop, SLURM) and SIGHUP (the terminal closed) killed the run on
    # the spot: no summary, a .part file left, the manifest not compacted
    import signal

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(20):
        _wav(folder / f"{i:02d}.wav", 2000)
    env = child_env(JAX_PLATFORMS="cpu")
    process = subprocess.Popen(
        [sys.executable, "-c", _SIGINT_SCRIPT, "encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout.readline().strip() == "item"  # encoding is under way
    process.send_signal(getattr(signal, name))
    out, err = process.communicate(timeout=120)
    assert process.returncode == _STOP_CODES[name], err
    assert (f"terminated by {name}" in err) == (name != "SIGINT"), err  # which signal stopped it
    assert "Traceback" not in out + err
    summary = [line for line in out.splitlines() if line.startswith("interrupted:")]
    assert summary and "not done" in summary[0]
    assert not list((tmp_path / "out").glob("*.part*"))


_SIGKILL_SCRIPT = """
import os, signal, sys
import numpy as np
from jaxspec.cli import main
real = np.lib.format.write_array
count = [0]
def write_array(file, array, **kwargs):
    count[0] += 1
    if count[0] == 3:  # the third output: killed outright halfway through its write
        file.write(b"\\x93NUMPY partial")
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(file, array, **kwargs)
np.lib.format.write_array = write_array
sys.exit(main(sys.argv[1:]))
"""


@POSIX_SIGNALS
def test_a_rerun_removes_what_a_sigkilled_run_left(tmp_path, capsys):
    # SIGKILL (the OOM killer, kill -9) cannot be caught: the run left its temporary file
    # behind, which every rerun kept (a hidden .part file per kill, forever)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        _wav(folder / f"{i}.wav", 2000)
    out = tmp_path / "out"
    env = child_env(JAX_PLATFORMS="cpu")
    argv = ["encode", str(folder), "-o", str(out), "--no-progress", "--workers", "1"]
    killed = subprocess.run([sys.executable, "-c", _SIGKILL_SCRIPT, *argv], capture_output=True, env=env, timeout=300)
    assert killed.returncode == -9
    left = _leftovers(out)
    assert len(left) == 1 and len(list(out.glob("*.npy"))) == 2
    cpu = jax.devices("cpu")[0]  # the killed run's backend: bit-identical outputs on any machine
    with jax.default_device(cpu):
        code, printed, err = _cli(capsys, *argv)
    assert code == EXIT_OK and printed.startswith("3 written, 0 failed, 2 up to date")
    assert "removed 1 temporary file" in err
    assert _leftovers(tmp_path) == [] and sorted(p.name for p in out.glob("*.npy")) == [f"{i}.npy" for i in range(5)]
    for i in range(5):
        with jax.default_device(cpu):
            expected = jaxspec.encode(SpectrogramConfig(), folder / f"{i}.wav")
        np.testing.assert_array_equal(np.load(out / f"{i}.npy"), expected)
    # what a kill left in a folder whose outputs are all up to date (--overwrite killed there)
    (folder / "sub").mkdir()
    _wav(folder / "sub" / "s.wav", 2000)
    assert _cli(capsys, *argv)[1].startswith("1 written, 0 failed, 5 up to date")
    stale = out / "sub" / f".s.npy.{_dead_pid()}-{_atomic_host()}-abcd0123.part"
    stale.write_bytes(b"")
    code, printed, err = _cli(capsys, *argv)
    assert printed.startswith("0 written, 0 failed, 6 up to date") and not stale.exists() and "removed 1" in err


def _dead_pid() -> int:
    """The id of a process of this host that has exited."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)


def _atomic_host() -> str:
    from jaxspec import _atomic

    return _atomic._host()


def test_only_temporary_files_whose_writer_is_gone_are_swept(tmp_path):
    from jaxspec import _atomic

    dead_pid, host = _dead_pid(), _atomic._host()
    old = 2 * _atomic.STALE_AGE_S
    files = {
        f".a.npy.{dead_pid}-{host}-abcd0123.part": (0, True),  # its writer is gone
        f".b.png.{dead_pid}-{host}-abcd0123.part.png": (0, True),  # a picture's (extension kept)
        f".c.npy.{os.getppid()}-{host}-abcd0123.part": (0, False),  # its writer runs: a concurrent run
        f".d.npy.{os.getpid()}-{host}-abcd0123.part": (0, False),  # this process's own
        f".e.npy.{dead_pid}-0badc0de-abcd0123.part": (0, False),  # another host's, recent
        f".f.npy.{dead_pid}-0badc0de-abcd0123.part": (old, True),  # another host's, untouched for 2 days
        ".g.npy.abcd0123.part": (old, False),  # an older jaxspec's form, or a user's own name: kept
        ".thesis.20240101.part": (old, False),  # a user's file of that form, 2 days old
        f".h.npy.{dead_pid}-{host}-abcd_123.part": (0, False),  # not hex: not a name jaxspec gives
        f".l.npy.{2**70}-{host}-abcd0123.part": (0, False),  # a process id past pid_t: kept, never a crash
        f".m\nn.npy.{dead_pid}-{host}-abcd0123.part": (0, True),  # a name with a newline
        ".notes.part": (old, False),  # not a name jaxspec gives
        "i.npy.part": (old, False),
        f"j.npy.{dead_pid}-{host}-abcd0123.part": (0, False),  # not hidden
    }
    now = time.time()
    for name, (age, _) in files.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / f".k.npy.{dead_pid}-{host}-abcd0123.part").mkdir()  # a folder is never removed
    assert _atomic.sweep_stale(tmp_path) == sum(stale for _, stale in files.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name for name, (_, stale) in files.items() if not stale] + [f".k.npy.{dead_pid}-{host}-abcd0123.part"]
    )
    assert _atomic.sweep_stale(tmp_path / "missing") == 0


# ------------------------------------------------------------------ 9. paths
def test_non_utf8_file_names_are_read(tmp_path, capsys):
    name = os.fsdecode(b"caf\xe9-\xff.wav")
    path = tmp_path / name
    try:
        _wav(tmp_path / "plain.wav").rename(path)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    audio = jaxspec.load_audio(path)
    assert audio.num_samples == 4000
    streamed = np.asarray(jaxspec.encode(SpectrogramConfig(), str(path), stream=True))
    np.testing.assert_allclose(streamed, np.asarray(jaxspec.encode(SpectrogramConfig(), str(path))), rtol=1e-5)
    code, out, _ = _cli(capsys, "encode", tmp_path, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_OK and (tmp_path / "out" / (Path(name).stem + ".npy")).exists()
    code, out, _ = _cli(capsys, "info", path)
    assert code == EXIT_OK and "(31, 201)" in out  # the name prints (escaped), nothing raises


def test_control_characters_in_file_names_are_escaped(tmp_path, capsys):
    """A name cannot split a message line or drive the terminal: \\n, \\t and ESC print
    escaped (as ls -b shows them), in encode's errors and info's lines."""
    name = "evil\n5 written, 0 failed\x1b[31m\t.wav"
    try:
        (tmp_path / name).write_bytes(b"garbage" * 10)
        _wav(tmp_path / "ok\x1b.wav")
    except OSError:
        pytest.skip("this file system does not take control characters in names")
    code, _, err = _cli(capsys, "encode", tmp_path, "-o", tmp_path / "out", "--no-progress")
    assert code == EXIT_FAILED and "evil\\n5 written, 0 failed\\x1b[31m\\t.wav: " in err
    assert "\x1b" not in err and err.count("\n") == 1
    code, out, err = _cli(capsys, "info", tmp_path / "ok\x1b.wav")
    assert code == EXIT_OK and "ok\\x1b.wav" in out and "\x1b" not in out + err


def test_a_closed_stdout_ends_the_command_quietly(tmp_path):
    """info | head: the reader going away is exit 141 with nothing on stderr (each later
    file was reported as failing with 'Broken pipe')."""
    for i in range(40):
        _wav(tmp_path / f"c{i:02d}.wav")
    env = child_env(JAX_PLATFORMS="cpu")
    # The reader is gone before the command starts: a live `head` raced the command, which
    # could write everything into the pipe's buffer before head exited (exit 0, a flaky test).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "jaxspec", "info", str(tmp_path)],
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b""


def test_non_utf8_file_names_print_their_bytes_as_hex(tmp_path):
    # the CLI's messages showed such a name as 'bad\\udcff.wav' (Python's surrogate escape)
    try:
        (tmp_path / os.fsdecode(b"bad\xff.wav")).write_bytes(b"garbage" * 10)
        _wav(tmp_path / "plain.wav").rename(tmp_path / os.fsdecode(b"caf\xe9.wav"))
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    env = child_env(JAX_PLATFORMS="cpu", PYTHONIOENCODING="utf-8")
    run = [sys.executable, "-m", "jaxspec"]
    argv = [*run, "encode", str(tmp_path), "-o", str(tmp_path / "out"), "--no-progress"]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    assert done.returncode == EXIT_FAILED and b"bad\\xff.wav: " in done.stderr and b"udc" not in done.stderr
    done = subprocess.run([*run, "info", str(tmp_path)], env=env, capture_output=True, timeout=300)
    assert b"caf\\xe9.wav\n" in done.stdout and b"udc" not in done.stdout + done.stderr
    assert (tmp_path / "out" / os.fsdecode(b"caf\xe9.npy")).is_file()


def test_a_linked_folder_inside_the_output_is_not_followed_outside(tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    _wav(tmp_path / "in" / "sub" / "a.wav")
    _wav(tmp_path / "in" / "b.wav")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    code, _, stderr = _cli(capsys, "encode", tmp_path / "in", "-o", out, "--no-progress")
    assert code == EXIT_FAILED and "would be outside" in stderr and "through a link" in stderr
    assert list(elsewhere.iterdir()) == [] and (out / "b.npy").is_file()
    # an output's own name that is a link is replaced, not written through (a config -o or a
    # picture the user names is written through: tests/test_cli.py)
    (out / "b.npy").unlink()
    (out / "b.npy").symlink_to(elsewhere / "b.npy")
    code, _, stderr = _cli(capsys, "encode", tmp_path / "in" / "b.wav", "-o", out, "--no-progress")
    assert code == EXIT_OK and list(elsewhere.iterdir()) == [] and not (out / "b.npy").is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "folder", "link"])
def test_a_manifest_that_is_not_a_regular_file_is_a_usage_error(tmp_path, capsys, kind):
    _wav(tmp_path / "a.wav")
    out = tmp_path / "out"
    assert _cli(capsys, "encode", tmp_path / "a.wav", "-o", out, "--no-progress")[0] == EXIT_OK
    manifest = out / ".jaxspec-manifest.jsonl"
    manifest.unlink()
    if kind == "fifo":
        os.mkfifo(manifest)  # reading it blocked the rerun for ever
    elif kind == "folder":
        manifest.mkdir()  # every item failed, and the outputs were deleted
    else:
        manifest.symlink_to(tmp_path / "elsewhere.jsonl")  # records appended outside -o
    code, _, stderr = _cli(capsys, "encode", tmp_path / "a.wav", "-o", out, "--no-progress")
    assert code == EXIT_USAGE and "the manifest" in stderr and str(manifest) in stderr
    assert (out / "a.npy").is_file() and not (tmp_path / "elsewhere.jsonl").exists()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("\0", "NUL"), ("\ud800", "lone surrogate")],  # NUL: found by the fuzz profile
)
def test_paths_no_file_can_have_are_input_errors(bad, reason):
    # JSON's "\\ud800" gives a str no file system can encode: os.stat raised a bare
    # UnicodeEncodeError that named neither the path nor the config file
    with raises(InputError, reason):
        jaxspec.load_audio(f"a{bad}b.wav")
    with raises(ConfigError, reason):
        SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, f"x{bad}.wav")))
    with raises(ConfigError, reason):
        SpectrogramConfig.load(f"c{bad}.json")


def test_an_empty_config_file_name_is_a_config_error_naming_it(tmp_path, capsys):
    # Path('') is '.': "config file '.' is not a regular file"
    with raises(ConfigError, "config file ''", "empty"):
        SpectrogramConfig.load("")
    code, _, stderr = _cli(capsys, "info", _wav(tmp_path / "a.wav"), "--config", "")
    assert code == EXIT_USAGE and "config file ''" in stderr


def test_a_config_path_may_be_bytes_and_anything_else_is_a_config_error(tmp_path):
    # load(None) / load(3) raised os.fspath's TypeError, load(b"c.json") Path's
    (tmp_path / "c.json").write_text('{"sample_rate": 8000}')
    assert SpectrogramConfig.load(os.fsencode(tmp_path / "c.json")).sample_rate == 8000
    for bad in (None, 3, ["c.json"]):
        with raises(ConfigError, f"config file {bad!r}", "must be a path"):
            SpectrogramConfig.load(bad)


def test_a_config_naming_a_lone_surrogate_path_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text('{"augmentation": {"noise": {"amplitude": 0.1, "signal": "\\ud800.wav"}}}')
    code, _, stderr = _cli(capsys, "info", _wav(tmp_path / "a.wav"), "--config", config)
    assert code == EXIT_USAGE and "c.json" in stderr and "lone surrogate" in stderr
    stderr.encode("utf-8")  # printable: the message holds no lone surrogate


def test_single_archive_with_a_non_utf8_name(tmp_path, capsys):  # found by the fuzz suite
    folder = tmp_path / "in"
    folder.mkdir()
    try:
        _wav(tmp_path / "x.wav").rename(folder / os.fsdecode(b"caf\xe9.wav"))
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    _wav(folder / "plain.wav")
    code, out, _ = _cli(capsys, "encode", folder, "-o", tmp_path / "all.npz", "--single", "--no-progress")
    assert code == EXIT_OK and out.startswith("2 written")
    with np.load(tmp_path / "all.npz") as archive:
        assert sorted(archive.files) == ["caf\\xe9", "plain"]


def test_bytes_paths_get_a_clear_message(tmp_path):
    path = bytes(_wav(tmp_path / "a.wav"))
    with raises(InputError, "bytes", "os.fsdecode"):
        jaxspec.load_audio(path)
    with raises(InputError, "bytes", "os.fsdecode"):
        jaxspec.encode(SpectrogramConfig(), path)


def test_globs_and_paths_with_dotdot_never_write_outside_the_output(tmp_path, capsys, monkeypatch):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    _wav(tmp_path / "a" / "top.wav")
    work = tmp_path / "a" / "b"
    monkeypatch.chdir(work)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    code, _, err = _cli(capsys, "encode", "*/../../*.wav", "-o", "out", "--no-progress")  # name "../top"
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    new = sorted(set(after) - set(before))
    assert all(p.startswith("a/b/out") for p in new), new
    assert code == EXIT_FAILED and "would be written outside 'out'" in err and "'../top'" in err
    code, _, err = _cli(capsys, "encode", "../*.wav", "-o", "out2", "--no-progress")
    assert code == EXIT_OK and (work / "out2" / "top.npy").exists()  # the glob's base is "..": names stay inside


def test_escaping_names_are_refused():
    from jaxspec import outputs

    for name in ("../x", "a/../../x", "/abs/x", "..", ""):
        assert outputs.escapes(name)
    for name in ("x", "a/b/x", "a..b/x"):
        assert not outputs.escapes(name)


def test_unreadable_files_say_why(tmp_path, monkeypatch):
    path = _wav(tmp_path / "a.wav")
    import jaxspec._files as files

    real_open = open

    def denied(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(files, "open", denied, raising=False)
    with raises(AudioFileError, str(path), "Permission denied"):
        jaxspec.load_audio(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_files_say_why_for_real(tmp_path):
    path = _wav(tmp_path / "a.wav")
    path.chmod(0)
    with raises(AudioFileError, str(path), "Permission denied"):
        jaxspec.load_audio(path)


# ------------------------------------------------------------------ minor points of the audit of 2026-12-02
def test_small_points_of_the_file_audit(tmp_path, capsys, monkeypatch):
    # config -o - prints (it wrote a file named '-')
    monkeypatch.chdir(tmp_path)
    code, printed, _ = _cli(capsys, "config", "-o", "-")
    assert code == EXIT_OK and json.loads(printed)["sample_rate"] == 16000 and not (tmp_path / "-").exists()
    # inline samples of true / false (read as 1.0 / 0.0)
    config = tmp_path / "c.json"
    config.write_text('{"augmentation": {"noise": {"amplitude": 0.1, "signal": {"samples": [true, 0.5]}}}}')
    with raises(ConfigError, "augmentation.noise.signal.samples", "true / false"):
        SpectrogramConfig.load(config)
    # a 5000-digit integer: no advice to call sys.set_int_max_str_digits
    config.write_text('{"sample_rate": ' + "1" * 5000 + "}")
    with pytest.raises(ConfigError, match="more digits") as caught:
        SpectrogramConfig.load(config)
    assert "sys." not in str(caught.value)
    # float64 samples past float32's range are not just "NaN or infinite"
    soundfile.write(tmp_path / "d.wav", np.array([0.0, 5e299, 0.1]), RATE, subtype="DOUBLE")
    with raises(jaxspec.AudioSamplesError, "d.wav", "beyond float32's range"):
        jaxspec.load_audio(tmp_path / "d.wav")


def test_reaudit_of_the_manifest_and_messages(tmp_path, capsys):
    """A record whose setting is not a string crashed every rerun (compact); an old record
    without an output time never lets a same-size file of the user's be deleted; the
    summary line and the plot / config lines escape their paths."""

    folder, out = tmp_path / "in", tmp_path / "o\nut"
    folder.mkdir()
    for name in "ab":
        _wav(folder / f"{name}.wav")
    code, printed, _ = _cli(capsys, "encode", folder, "-o", out, "--no-progress")
    assert code == EXIT_OK and printed.rstrip().endswith("-> " + str(out).replace("\n", "\\n"))
    manifest = out / manifest_module.MANIFEST_NAME
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    for line in lines:
        line.pop("output_mtime_ns", None)  # records as jaxspec wrote them before 2026-12
    lines.append({"name": "zz", "setting": ["x"]})
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    np.save(out / "a.npy", np.load(out / "b.npy"))  # the user's file, the same size as a's output
    (folder / "a.wav").write_bytes(b"not audio")
    code, _, err = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--offset", 90)
    assert code == EXIT_FAILED and "a.wav" in err and (out / "a.npy").is_file()
    code, printed, _ = _cli(capsys, "config", "-o", tmp_path / "c\x1b.json")
    assert code == EXIT_OK and "\\x1b" in printed and "\x1b" not in printed


def test_a_missing_recording_of_a_config_file_names_it_on_the_command_line(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"augmentation": {"noise": {"amplitude": 0.1, "signal": "missing.wav"}}}))
    code, _, err = _cli(capsys, "config", "--config", config)
    assert code == EXIT_USAGE and "c.json" in err and "missing.wav" in err


def test_a_picture_of_a_file_whose_name_is_not_utf8(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    try:
        path = _wav(tmp_path / "plain.wav").rename(tmp_path / os.fsdecode(b"x\xff\x1b.wav"))
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take such names")
    code, printed, err = _cli(capsys, "plot", path, "-o", tmp_path / "p.png")  # matplotlib's TypeError before
    assert code == EXIT_OK and (tmp_path / "p.png").stat().st_size > 1000 and "\x1b" not in printed + err


def test_plot_refuses_before_decoding_what_it_cannot_draw(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from jaxspec import plot

    clip = _wav(tmp_path / "c.wav")
    monkeypatch.setattr(plot, "prepare", lambda *a: pytest.fail("decoded"))
    with raises(ConfigError, "power=None"):  # a TypeError after decoding before
        plot.plot_file(SpectrogramConfig(power=None), clip, tmp_path / "x.png")
    with raises(ConfigError, "dpi=0.001"):  # matplotlib's 'cannot write empty image' before
        plot.plot_file(SpectrogramConfig(), clip, tmp_path / "x.png", dpi=0.001)


def test_resample_scales_integer_pcm_as_spectrogram_does():
    pcm = np.full(1000, 16384, np.int16)
    np.testing.assert_array_equal(jaxspec.resample(pcm, RATE, RATE), np.full(1000, 0.5, np.float32))
    np.testing.assert_allclose(jaxspec.resample(pcm, RATE, 8000)[100:400], 0.5, rtol=1e-5)
    assert abs(float(jaxspec.resample(np.full(1000, 128, np.uint8), RATE, 8000)[200])) < 1e-6
    with raises(InputError, "dtype bool"):
        jaxspec.resample(np.ones(1000, bool), RATE, 8000)


def test_single_archive_whose_inputs_all_fail_now_is_removed(tmp_path, capsys):
    """As a folder's stale outputs are: the archive held only outputs of inputs that now fail."""
    folder, archive = tmp_path / "in", tmp_path / "all.npz"
    folder.mkdir()
    for name in "ab":
        _wav(folder / f"{name}.wav")
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")[0] == EXIT_OK
    for name in "ab":
        (folder / f"{name}.wav").write_bytes(b"not audio")
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")[0] == EXIT_FAILED
    assert not archive.exists()
    archive.write_bytes(b"the user's own file")  # no record of jaxspec's matches it: kept
    assert _cli(capsys, "encode", folder, "-o", archive, "--single", "--no-progress")[0] == EXIT_FAILED
    assert archive.read_bytes() == b"the user's own file"


def test_a_recording_changed_under_its_path_is_another_setting(tmp_path, capsys):
    """The manifest's setting records each recording file's size and time: outputs made with
    the old noise were kept as up to date."""
    folder = tmp_path / "in"
    folder.mkdir()
    _wav(folder / "a.wav")
    noise = tmp_path / "n.wav"
    soundfile.write(noise, 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32), RATE)
    argv = ["encode", folder, "-o", tmp_path / "out", "--no-progress", "--key", 1, "--noise-file", noise]
    argv += ["--noise", 0.5]
    assert _cli(capsys, *argv)[1].startswith("1 written")
    assert _cli(capsys, *argv)[1].startswith("0 written, 0 failed, 1 up to date")
    soundfile.write(noise, 0.1 * np.random.default_rng(1).standard_normal(8001).astype(np.float32), RATE)
    assert _cli(capsys, *argv)[1].startswith("1 written")


def test_a_preset_with_a_sample_rate_is_built_at_that_rate(capsys):
    code, printed, _ = _cli(capsys, "config", "--preset", "kaldi_fbank", "--sample-rate", 8000)
    assert code == EXIT_OK
    built = SpectrogramConfig.from_dict(json.loads(printed))  # the rate on top of the 16 kHz preset kept 400 / 512
    assert built == jaxspec.presets.kaldi_fbank(sample_frequency=8000)
    code, _, err = _cli(capsys, "config", "--preset", "whisper", "--sample-rate", 8000)
    assert code == EXIT_USAGE and "16000 Hz only" in err


def test_a_window_list_starting_with_a_negative_value(capsys):
    code, printed, err = _cli(capsys, "config", "--window-size", 3, "--window-function", "-0.5,0.5,1")
    assert code == EXIT_OK, err  # argparse's "expected one argument" before
    assert json.loads(printed)["window_function"] == [-0.5, 0.5, 1.0]


def test_a_preset_takes_the_rate_of_a_config_file_too(tmp_path, capsys):
    rate = tmp_path / "sr.json"
    rate.write_text('{"sample_rate": 8000}')
    code, printed, _ = _cli(capsys, "config", "--preset", "kaldi_fbank", "--config", rate)
    assert code == EXIT_OK  # the file's rate on top of the 16 kHz preset kept 400 / 160 / 512 and fmax 8000
    assert SpectrogramConfig.from_dict(json.loads(printed)) == jaxspec.presets.kaldi_fbank(sample_frequency=8000)
    code, printed, _ = _cli(capsys, "config", "--preset", "whisper", "--sample-rate", 16000)  # its own rate
    assert code == EXIT_OK and SpectrogramConfig.from_dict(json.loads(printed)) == jaxspec.presets.whisper()


def test_without_a_key_a_recording_file_is_not_part_of_the_setting(tmp_path, capsys):
    """No key, no augmentation: a touched noise file changes nothing the outputs hold."""
    folder = tmp_path / "in"
    folder.mkdir()
    _wav(folder / "a.wav")
    noise = tmp_path / "n.wav"
    soundfile.write(noise, 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32), RATE)
    argv = ["encode", folder, "-o", tmp_path / "out", "--no-progress", "--noise-file", noise, "--noise", 0.5]
    assert _cli(capsys, *argv)[1].startswith("1 written")
    os.utime(noise, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert _cli(capsys, *argv)[1].startswith("0 written, 0 failed, 1 up to date")


@pytest.mark.parametrize("length", [240, 255])
def test_outputs_with_long_legal_names_are_written(tmp_path, length):
    """A final name of 225-255 bytes is legal; its temporary name (~30 bytes longer) was not,
    and the output failed with "File name too long" on every run."""
    folder = tmp_path / "in"
    folder.mkdir()
    stem = "é" * ((length - 4) // 2) + "L" * ((length - 4) % 2)  # two bytes a character
    soundfile.write(folder / f"{stem}.wav", np.zeros(800, np.float32), RATE)
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == EXIT_OK
    written = np.load(tmp_path / "out" / f"{stem}.npy")
    assert written.shape == SpectrogramConfig().output_shape(800)
    assert len(os.fsencode(f"{stem}.npy")) == length and not list((tmp_path / "out").glob(".*.part*"))


def test_an_output_under_a_file_says_so_and_no_folder_counts_as_replaced(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["config", "-o", str(tmp_path / "afile" / "x.json")]) == EXIT_USAGE
    assert "a part of the folder path is a file" in capsys.readouterr().err  # was "File exists"
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "a.wav", np.zeros(800, np.float32), RATE)
    out = tmp_path / "out"
    (out / "a.npy").mkdir(parents=True)  # a folder where the output goes: left alone, not "replaced"
    assert main(["encode", str(folder), "-o", str(out), "--no-progress"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "is a folder" in err and "will be replaced" not in err and "were made from another" not in err


def _mode_workload() -> list:
    """Calls whose traced code broadcasts (windows on frames) and mixes integer widths (lengths)."""
    x = (np.random.default_rng(0).standard_normal(1600) * 0.1).astype(np.float32)
    batch, key = np.stack([x, x[::-1].copy()]), jax.random.key(0)
    augmented = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01, time_shift=(-0.1, 0.1)))
    mfcc = jax.jit(lambda b: jaxspec.spectrogram(jaxspec.presets.librosa_mfcc(), b, lengths=np.array([1600, 0])))
    return [
        jaxspec.spectrogram(SpectrogramConfig(), x),
        jaxspec.resample(x, 16000, 8000),
        jaxspec.spectrogram(jaxspec.presets.whisper(), x),
        jaxspec.spectrogram(augmented, batch, key, lengths=[1600, 10]),
        jaxspec.encode(SpectrogramConfig(), x, sample_rate=44100),
        mfcc(batch),
        *jaxspec.encode_batch(SpectrogramConfig(), [x, x[:900]], sample_rate=16000),
    ]


@pytest.mark.parametrize("mode", ["rank raise", "strict", "x64 strict"])
def test_a_user_s_numpy_promotion_rules_change_nothing(mode):
    # jaxspec's own broadcasts raised under rank promotion "raise"; under x64 + "strict",
    # arange (int64) met the int32 lengths: every lengths= call and encode raised
    expected = _mode_workload()
    context = jax.numpy_rank_promotion("raise") if mode == "rank raise" else jax.numpy_dtype_promotion("strict")
    jax.config.update("jax_enable_x64", mode.startswith("x64"))  # (jax.enable_x64 is not in jax 0.7)
    try:
        with context:
            got = _mode_workload()
    finally:
        jax.config.update("jax_enable_x64", False)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_debug_infs_run_op_by_op_meets_no_inf_inside_jaxspec():
    # frexp/ldexp in the normalization and a -inf placeholder in top_db's max held inf in
    # inner steps (never in outputs), which stopped the standard NaN hunt on every input
    x = (np.random.default_rng(0).standard_normal(1600) * 0.1).astype(np.float32)
    expected = [jaxspec.spectrogram(SpectrogramConfig(normalization=kind), x) for kind in ("rms", "max")]
    with jax.debug_infs(True), jax.debug_nans(True), jax.disable_jit():
        got = [jaxspec.spectrogram(SpectrogramConfig(normalization=kind), x) for kind in ("rms", "max")]
        jaxspec.spectrogram(jaxspec.presets.librosa_mfcc(), np.stack([x, x]), lengths=[1600, 0])
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)


def test_a_window_above_the_value_cap_is_named_by_its_length_not_its_values():
    # the message held the whole window: 4 KB for 400 values, 10 MB at 2**20
    with pytest.raises(ConfigError) as error:
        SpectrogramConfig(window_function=[1e5] * 400)
    message = str(error.value)
    assert message.startswith("window_function=<400 values> has a value of magnitude 100000")
    assert message.endswith(f"the cap is {limits.MAX_WINDOW_VALUE:g}") and len(message) < 200


def test_a_file_deleted_between_the_passes_of_a_stream_names_the_os_reason(tmp_path, monkeypatch):
    # the second pass (an RMS normalization) reopened it unchecked: libsndfile's "System error."
    from jaxspec import _file_reader, stream

    source, target = _wav(tmp_path / "a.wav", 40000), tmp_path / "a.npy"
    real = _file_reader.FileReader._seek_start

    def deleted_first(reader):
        os.remove(source)
        return real(reader)

    monkeypatch.setattr(_file_reader.FileReader, "_seek_start", deleted_first)
    with pytest.raises(FileNotFoundError, match="a.wav' does not exist"):
        stream.encode_to_file(SpectrogramConfig(normalization="rms"), source, target, block_frames=50)
    assert not target.exists()


def test_a_masked_array_with_masked_samples_is_refused():
    # np.asarray reads the data under the mask: a fully masked array of ones was encoded as ones
    config = SpectrogramConfig()
    masked = np.ma.masked_array(np.ones(1600, np.float32), mask=np.arange(1600) < 10)
    calls = [
        ("x", lambda: jaxspec.spectrogram(config, masked)),
        ("audio", lambda: jaxspec.encode(config, masked, sample_rate=16000)),
        ("audio 0", lambda: jaxspec.encode_batch(config, [masked], sample_rate=16000)),
    ]
    for name, call in calls:
        with raises(InputError, f"{name} is a masked array with 10 masked sample(s)", "x.filled(0.0)"):
            call()
    with raises(InputError, "x is a masked array"):  # a row of a batch given as a list
        jaxspec.spectrogram(config, [masked.data, masked])
    with raises(InputError, "Audio samples is a masked array"):
        jaxspec.Audio(masked, 16000)
    for noise in (jaxspec.Noise(0.5, masked), jaxspec.Noise(0.5, masked, 16000)):  # a recording: config
        with raises(ConfigError, "Noise signal is a masked array"):
            SpectrogramConfig(augmentation=Augmentation(noise=noise))
    unmasked = np.ma.masked_array(np.ones(1600, np.float32))  # nothing masked: its data, as before
    np.testing.assert_array_equal(jaxspec.spectrogram(config, unmasked), jaxspec.spectrogram(config, unmasked.data))


def test_zero_d_jax_and_numpy_arrays_are_numbers_in_augmentation_settings():
    # Augmentation(volume=jnp.float32(0.3)) was "not a valid Volume setting" while np.float32(0.3) passed
    import jax.numpy as jnp

    for value, expected in [
        (jnp.float32(0.25), 0.25),
        (np.array(0.25), 0.25),
        (jnp.array(2), 2.0),
        ((jnp.float32(0.5), np.array(1.5)), jaxspec.Uniform(0.5, 1.5)),
    ]:
        assert Augmentation(volume=value).volume.gain == expected
        assert Augmentation(volume=value) == Augmentation(volume=expected)  # one program for both
    assert Augmentation(noise=jnp.float32(0.25)).noise.amplitude == 0.25
    for bad in (jnp.bool_(True), jnp.complex64(1 + 1j), jnp.ones(2), (jnp.bool_(True), 1.0)):
        with pytest.raises(ConfigError, match="volume|gain"):
            Augmentation(volume=bad)
    # ... and the distributions took np.float32(0.5) but refused jnp.float32(0.5)
    for low in (jnp.float32(0.5), jnp.array(0.5), np.array(0.5)):
        assert jaxspec.Uniform(low, jnp.float32(1.5)) == jaxspec.Uniform(0.5, 1.5)
        assert hash(jaxspec.LogUniform(low, 2)) == hash(jaxspec.LogUniform(0.5, 2.0))
        assert jaxspec.Normal(0, jnp.array(low)) == jaxspec.Normal(0.0, 0.5)
    for bad in (jnp.bool_(True), jnp.ones(2)):
        with pytest.raises(ConfigError, match="Uniform low="):
            jaxspec.Uniform(bad, 1.5)


def test_a_traced_rate_says_rates_are_static():
    with raises(ConfigError, "orig_rate=", "static under jax.jit (static_argnums)"):
        jax.jit(jaxspec.resample)(np.ones(1600, np.float32), 16000, 8000)
    assert jax.jit(jaxspec.resample, static_argnums=(1, 2))(np.ones(1600, np.float32), 16000, 8000).shape == (800,)


def test_output_folders_are_made_as_mkdir_parents_made_them(tmp_path):
    # _make_folder makes folders in a loop (mkdir(parents=True) recursed); its errors stay mkdir's
    import errno

    from jaxspec._atomic import _make_folder

    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to("dir")
    for made in ("new/a/b", "link/x/y", "dir/../n2/c", "dir"):
        _make_folder(tmp_path / made)
        assert (tmp_path / made).is_dir()
    for blocked in ("file", "file/a/b", "dangling", "dangling/a"):
        with pytest.raises(NotADirectoryError, match="a part of the folder path is a file"):
            _make_folder(tmp_path / blocked)
    with pytest.raises(OSError) as caught:
        _make_folder(tmp_path / "loop" / "x")
    assert caught.value.errno == errno.ELOOP


def test_skip_existing_encodes_again_an_output_a_power_cut_left_empty_or_cut(tmp_path, capsys):
    """Outputs are renamed into place without fsync: after a crash of the machine one can be
    empty or cut under its final name, which --skip-existing kept as whole (found by an audit)."""
    folder, out = _wav_folder(tmp_path, "abc"), tmp_path / "out"
    assert _cli(capsys, "encode", folder, "-o", out, "--no-progress")[1].startswith("3 written")
    expected = {name: np.load(out / f"{name}.npy") for name in "abc"}
    (out / "a.npy").write_bytes(b"")  # what ext4 may leave of a file renamed just before a power cut
    (out / "b.npy").write_bytes((out / "b.npy").read_bytes()[:-8])
    code, stdout, stderr = _cli(capsys, "encode", folder, "-o", out, "--no-progress", "--skip-existing")
    assert code == 0 and stdout.startswith("2 written, 0 failed, 1 up to date")
    assert "note: 2 existing output(s)" in stderr and "not whole .npy files" in stderr
    for name in "abc":
        np.testing.assert_array_equal(np.load(out / f"{name}.npy"), expected[name])


def test_the_beam_command_without_apache_beam_says_so_in_one_line(tmp_path):
    # python -m jaxspec.beam without the [beam] extra printed two chained tracebacks
    (tmp_path / "apache_beam").mkdir()
    (tmp_path / "apache_beam" / "__init__.py").write_text("raise ImportError('no beam here')\n")
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    run = subprocess.run([sys.executable, "-m", "jaxspec.beam", "--help"], env=env, capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert (
        run.stderr.strip() == "python -m jaxspec.beam: error: jaxspec.beam needs Apache Beam: pip install apache-beam"
    )


def test_an_output_name_the_os_refuses_fails_that_item_only(tmp_path, capsys):
    """An output whose name the OS refuses (``a.au`` of 255 bytes -> ``a.npy`` of 256; a folder
    without permission for a user) stopped the whole run with exit 2 and nothing written once
    the output folder existed: ``Path.is_file`` lets ENAMETOOLONG / EACCES through. That item
    fails, naming its output; the others are written (SPEC 5)."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    soundfile.write(folder / "ok.wav", np.zeros(800, np.float32), RATE)
    soundfile.write(folder / ("a" * 252 + ".au"), np.zeros(800, np.float32), RATE, format="AU")
    for flags in ([], ["--skip-existing"]):
        assert main(["encode", str(folder), "-o", str(out), "--no-progress", *flags]) == EXIT_FAILED
        printed = capsys.readouterr()
        assert "File name too long" in printed.err and "1 written, 1 failed" in printed.out, printed
        (out / "ok.npy").unlink()


def test_a_path_the_os_cannot_reach_is_named_with_its_reason(tmp_path):
    """A file inside a folder that cannot be searched was "no such file or folder" (it exists):
    the OS's reason, as every other file error gives it."""
    from jaxspec.cli.inputs import find_inputs

    too_long = str(tmp_path / ("n" * 300 + ".wav"))
    assert find_inputs([too_long]) == ([], [(too_long, "File name too long")])
    assert find_inputs([str(tmp_path / "absent.wav")])[1][0][1] == "no such file or folder"


def test_an_output_too_long_for_its_manifest_says_so(tmp_path, capsys):
    """``-o`` of 244 bytes is legal, its manifest's name (+15 bytes) is not: the refusal said the
    manifest "cannot be read"; it says the name is too long and to shorten -o."""
    soundfile.write(tmp_path / "a.wav", np.zeros(800, np.float32), RATE)
    out = tmp_path / ("n" * 240 + ".npy")
    assert main(["encode", str(tmp_path / "a.wav"), "-o", str(out), "--no-progress"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "too long for the file system" in err and "shorten -o" in err and "cannot be read" not in err, err


def test_outputs_of_an_older_encoder_are_made_again_and_records_name_their_key(tmp_path, capsys):
    """The compatibility audit: a rerun after an upgrade kept outputs whose numbers the new code
    changes (dither draws, a time shift's rounding, an ``-o NAME.npy``'s key: up to 0.76
    relative) as up to date, since the setting held the config and key rule only. Settings hold
    the encoder's numbers revision: a manifest of the setting as it was written before is made
    again. An ``-o NAME.npy`` record names the input whose name its key was made from."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    _wav(folder / "a.wav")
    argv = ["encode", folder, "-o", out, "--no-progress", "--key", 3, "--volume", "0.5:1.5"]
    assert _cli(capsys, *argv)[1].startswith("1 written")
    manifest = out / manifest_module.MANIFEST_NAME
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    header = next(line for line in lines if "key_rule" in line)
    assert header["numbers"] == manifest_module.NUMBERS
    made = {"config": header["config"], "key_rule": header["key_rule"]}  # as jaxspec hashed it before
    old = hashlib.sha256(json.dumps(made, sort_keys=True).encode()).hexdigest()[:32]
    rows = [{**made, "setting": old} if "key_rule" in line else {**line, "setting": old} for line in lines]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert _cli(capsys, *argv)[1].startswith("1 written, 0 failed, 0 up to date")
    assert _cli(capsys, *argv)[1].startswith("0 written, 0 failed, 1 up to date")
    take = tmp_path / "take.npy"
    assert _cli(capsys, "encode", folder / "a.wav", "-o", take, *argv[4:])[0] == EXIT_OK
    records = [json.loads(line) for line in (tmp_path / "take.npy.manifest.jsonl").read_text().splitlines()]
    assert [(r["name"], r["key_name"]) for r in records if "output_bytes" in r] == [("take", "a")]
    # the same input reached as sub/a draws other values: not up to date (the review)
    (folder / "sub").mkdir()
    (folder / "a.wav").rename(folder / "sub" / "a.wav")
    (tmp_path / "take.npy").unlink()
    assert _cli(capsys, "encode", folder, "-o", take, *argv[4:])[1].startswith("1 written")
    again = ["encode", folder / "sub" / "a.wav", "-o", take, *argv[4:]]
    assert _cli(capsys, *again)[1].startswith("1 written, 0 failed, 0 up to date")
    assert _cli(capsys, *again)[1].startswith("0 written, 0 failed, 1 up to date")
