"""Feature settings as config data: JSON round trips, describe(), and errors that name the
field and the value (SPEC sections 5 and 7)."""

from __future__ import annotations

import json
import math

import pytest
from test_features import CASES

from jaxspec import (
    DCT,
    Centered,
    ConfigError,
    Decibels,
    Deltas,
    Dither,
    Log,
    LogEnergy,
    MelFilterbank,
    RemoveDC,
    SpectrogramConfig,
    UseEnergy,
)


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
