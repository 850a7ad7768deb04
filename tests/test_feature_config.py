"""Feature settings as config data: JSON round trips, describe(), and errors that name the
field and the value (SPEC sections 5 and 7)."""

from __future__ import annotations

import json
import math
import re
import warnings

import jax
import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import CASES, ref_mel

import jaxspec
from jaxspec import (
    DCT,
    Centered,
    ConfigError,
    Decibels,
    Deltas,
    Dither,
    Kaldi,
    Log,
    LogEnergy,
    MelFilterbank,
    RemoveDC,
    SpectrogramConfig,
    UseEnergy,
    WhisperLog,
)

spectrogram = jax.jit(jaxspec.spectrogram)


# ------------------------------------------------------------- config files and errors
@pytest.mark.parametrize("name", list(CASES))
def test_json_round_trip(name):
    config = CASES[name]
    again = SpectrogramConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and hash(again) == hash(config)


def test_energy_json_round_trip():
    config = SpectrogramConfig(preprocess=(RemoveDC(), LogEnergy(0.0)), features=(MelFilterbank(), Log(), UseEnergy()))
    assert SpectrogramConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.num_features == 41


@pytest.mark.parametrize(
    "d, words",
    [
        ({"features": [{"mel": {}}]}, ["features[0]", "'mel'"]),
        ({"features": [{"mel_filterbank": {"n_mel": 3}}]}, ["mel_filterbank", "n_mel"]),
        ({"features": [{"dct": {"n": 0}}]}, ["DCT", "n=0"]),
        ({"framing": {"centered": {"pad_mode": "edge"}}}, ["pad_mode", "'edge'"]),
        ({"preprocess": "remove_dc"}, ["preprocess", "'remove_dc'"]),
        ({"window_function": {"name": "hann", "sym": True}}, ["window_function", "sym"]),
    ],
)
def test_bad_json_names_field_and_value(d, words):
    with pytest.raises(ConfigError) as error:
        SpectrogramConfig.from_dict(d)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: MelFilterbank(n_mels=0), ["n_mels=0"]),
        (lambda: SpectrogramConfig(features=(MelFilterbank(fmin=9000.0),)), ["fmin=9000.0"]),
        (lambda: SpectrogramConfig(features=(MelFilterbank(10), DCT(13))), ["DCT(n=13)"]),
        (lambda: SpectrogramConfig(features=(MelFilterbank(10), MelFilterbank())), ["MelFilterbank", "201"]),
        (lambda: Log(floor=0.0), ["floor=0.0"]),
        (lambda: Decibels(amin=0.0), ["amin=0.0"]),
        (lambda: Deltas(width=4), ["width=4"]),
        (lambda: Deltas(order=3), ["order=3"]),
        (lambda: SpectrogramConfig(framing="center"), ["framing='center'"]),
        (lambda: SpectrogramConfig(preprocess=(Log(),)), ["preprocess"]),
        (lambda: SpectrogramConfig(features=(Centered(),)), ["features"]),
        (lambda: SpectrogramConfig(features=(UseEnergy(),)), ["LogEnergy"]),
        (lambda: Dither(-1.0), ["amount=-1.0"]),
        (lambda: jaxspec.PreEmphasis(-math.inf), ["coefficient=-inf", "finite"]),
        (lambda: SpectrogramConfig(power=-1.0), ["power=-1.0"]),
        # a width of 2001 asked XLA for 24 GB (the process aborted); 10**9 (replicate) never ended
        (lambda: Deltas(width=102, mode="replicate"), ["width=102", "<= 101"]),
        (lambda: Deltas(width=10**9, mode="replicate"), ["width=1000000000"]),
        # past float32's max, every output was inf
        (lambda: Decibels(amin=3.5e38), ["amin=3.5e+38", "<= 1e+30"]),
        (lambda: Decibels(ref=1e39), ["ref=1e+39"]),
        # an array holding a name passed, then failed to hash (or compared elementwise)
        (lambda: MelFilterbank(scale=np.array(["slaney"])), ["scale=array(['slaney']"]),
        (lambda: MelFilterbank(scale=np.array(["slaney", "htk"])), ["scale=array("]),
        (lambda: Deltas(mode=np.array(["interp"])), ["mode=array("]),
        (lambda: Centered(pad_mode=np.array(["reflect"])), ["pad_mode=array("]),
        (lambda: DCT(norm=np.array(["ortho"])), ["norm=array("]),
        # a callable's complex values lost their imaginary part
        (lambda: SpectrogramConfig(window_function=lambda n: np.full(n, 1j)), ["complex128", "real numbers"]),
        (lambda: SpectrogramConfig(window_function=lambda n: np.ones(n, bool)), ["bool values"]),
    ],
)
def test_bad_settings_name_field_and_value(make, words):
    with pytest.raises(ConfigError) as error:
        make()
    for word in words:
        assert word in str(error.value)


def test_describe_shows_the_new_fields():
    text = CASES["mfcc-kaldi-lifter"].describe()
    assert "features" in text and "DCT" in text and "-> 13 per frame" in text and "framing" in text
    assert math.isclose(CASES["mel-slaney"].frequencies()[1], 40.0)


@settings(max_examples=15, deadline=None)
@given(
    length=st.integers(0, 4000),
    n_mels=st.integers(1, 48),
    n_ceps=st.integers(1, 48),
    log=st.sampled_from(["log", "db", "whisper", None]),
    deltas=st.sampled_from([None, Deltas(1, 5), Deltas(2, 3, "replicate", stack=True)]),
    framing=st.sampled_from([None, Centered(), Centered("reflect", True), Kaldi(), Kaldi(False)]),
)
def test_feature_chains_give_the_announced_shape(length, n_mels, n_ceps, log, deltas, framing):
    stages = [MelFilterbank(n_mels, scale="kaldi" if framing == Kaldi() else "slaney")]
    stages += {"log": [Log()], "db": [Decibels()], "whisper": [WhisperLog()], None: []}[log]
    stages += [DCT(min(n_ceps, n_mels))] + ([deltas] if deltas else [])
    config = SpectrogramConfig(offset=160, fft_size=512, framing=framing, features=tuple(stages))
    x = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    out = np.asarray(spectrogram(config, x))
    assert out.shape == config.output_shape(length) and out.dtype == np.float32
    assert np.isfinite(out).all()


@settings(max_examples=15, deadline=None)
@given(n=st.one_of(st.integers(-3, 0), st.floats(0.5, 3.5), st.text(max_size=3), st.none()))
def test_bad_stage_sizes_are_config_errors(n):
    for make in (lambda: MelFilterbank(n_mels=n), lambda: DCT(n=n), lambda: Deltas(width=n)):
        with pytest.raises(ConfigError, match=re.escape(repr(n))):
            make()


def test_empty_mel_filters_warn_once_as_librosa_and_torchaudio_do(tmp_path):
    """Filters narrower than the FFT's bins are all zero: counted in test_features' float64
    librosa filterbank (ref_mel)."""
    expected = int((~ref_mel(16000, 400, 128, 0.0, 1000.0, htk=False, norm="slaney").any(axis=0)).sum())
    with pytest.warns(UserWarning, match=rf"{expected} of the 128 mel filters .* are empty") as made:
        config = SpectrogramConfig(features=(MelFilterbank(n_mels=128, fmax=1000.0),))
    assert len(made) == 1 and expected > 50
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectrogram(config, np.zeros(4000, np.float32))
        SpectrogramConfig(features=(MelFilterbank(n_mels=40),))  # the seed's 40 bands: none empty
        jaxspec.presets.kaldi_fbank(), jaxspec.presets.whisper(), jaxspec.presets.librosa_melspectrogram()
    with pytest.warns(UserWarning, match="4 of the 128 mel filters") as made:  # torchaudio warns of its defaults too
        torchaudio = jaxspec.presets.torchaudio_melspectrogram()
        jaxspec.presets.torchaudio_mfcc()  # its filterbank: warned of already (it warned from dataclasses.py)
    assert len(made) == 1
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(4000, np.float32), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the configs jaxspec derives (streaming, planning) warned again
        jaxspec.encode(torchaudio, wav)
        list(jaxspec.stream_spectrogram(torchaudio, wav))


def test_the_empty_filter_count_does_not_build_the_filterbank(monkeypatch):
    """A config is made without its filterbank (1000 mels on a 2**17-point FFT took 6 s and
    2.5 GB at every config made); the count from the edges equals the built matrix's."""
    from jaxspec import _melscale

    cases = [
        (256, 16000, 400, "slaney", "rfft"),
        (60, 8000, 256, "kaldi", "rfft"),
        (128, 16000, 400, "htk", "linspace"),
    ]
    banks = [_melscale.mel_filterbank(n, 0.0, r / 2, s, None, r, f, q) for n, r, f, s, q in cases]
    counts = [int((~bank.any(axis=0)).sum()) for bank in banks]
    assert counts[0] > 0 and counts[2] == 4
    monkeypatch.setattr(_melscale, "mel_filterbank", lambda *a: pytest.fail("the filterbank was built"))
    for (n_mels, rate, fft, scale, frequencies), count in zip(cases, counts, strict=True):
        bank = MelFilterbank(n_mels, scale=scale, frequencies=frequencies, norm=None)
        with warnings.catch_warnings(record=True) as made:
            warnings.simplefilter("always")
            SpectrogramConfig(sample_rate=rate, window_size=fft, features=(bank,))
        assert [str(w.message).split(" of ")[0] for w in made] == ([str(count)] if count else [])
