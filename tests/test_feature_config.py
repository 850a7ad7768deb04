"""Feature settings as config data: JSON round trips, describe(), and errors that name the
field and the value (SPEC sections 5 and 7)."""

from __future__ import annotations

import json
import math
import re

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import CASES

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
