"""Property tests (hypothesis): shapes, finiteness, ranges of draws, and errors."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxspec
from jaxspec import Augmentation, Scaled, SpectrogramConfig

RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
_settings = settings(max_examples=20, deadline=None)


@_settings
@given(
    length=st.integers(0, 3000),
    window=st.integers(16, 300),
    hop=st.integers(1, 400),
    extra=st.integers(0, 100),
    target=st.one_of(st.none(), st.integers(1, 40)),
    seed=st.integers(0, 2**31 - 1),
)
def test_augmented_spectrogram_shape_and_finiteness(length, window, hop, extra, target, seed):
    config = SpectrogramConfig(
        window_size=window,
        offset=hop,
        fft_size=window + extra,
        target_length=target,
        augmentation=Augmentation(volume=(0.5, 2.0), noise=0.01, time_shift=Scaled((-0.3, 0.3))),
    )
    x = np.random.default_rng(seed).standard_normal(length).astype(np.float32)
    out = np.asarray(jax.jit(jaxspec.spectrogram)(config, x, jax.random.key(seed)))
    expected_frames = target if target is not None else math.ceil(length / hop)
    assert out.shape == (expected_frames, (window + extra) // 2 + 1) == config.output_shape(length)
    assert out.dtype == np.float32 and np.isfinite(out).all() and (out >= 0).all()


@_settings
@given(
    lo=st.floats(-3, 3, allow_nan=False),
    width=st.floats(0, 3, allow_nan=False),
    shift=st.floats(0, 0.5, allow_nan=False),
    length=st.integers(1, 20000),
    seed=st.integers(0, 2**31 - 1),
)
def test_draws_stay_in_their_ranges(lo, width, shift, length, seed):
    config = SpectrogramConfig(augmentation=Augmentation(volume=(lo, lo + width), time_shift=(-shift, shift)))
    drawn = jaxspec.draw(config, jax.random.key(seed), length)
    assert lo - 1e-6 <= float(drawn["volume_gain"]) <= lo + width + 1e-6
    bound = min(length, math.floor(shift * config.sample_rate + 0.5))
    assert -bound <= int(drawn["time_shift_samples"]) <= bound


@_settings
@given(orig=st.sampled_from(RATES), target=st.sampled_from(RATES), n=st.integers(0, 5000))
def test_resample_length_and_finiteness(orig, target, n):
    x = np.sin(np.arange(n) * 0.01).astype(np.float32)
    y = np.asarray(jaxspec.resample(x, orig, target))
    assert y.shape == (math.ceil(n * target / orig),)
    # bounded by the input plus the Gibbs overshoot of a band-limited step (the signal's end)
    assert np.isfinite(y).all() and (y.size == 0 or np.abs(y).max() < 1.25)


@_settings
@given(
    field=st.sampled_from(["sample_rate", "window_size", "offset", "power", "target_length"]),
    value=st.one_of(st.integers(-1000, 0), st.floats(-10, 0, allow_nan=False)),
)
def test_non_positive_settings_name_the_field_and_value(field, value):
    if field == "sample_rate" and isinstance(value, float):
        value = int(value)  # an int-only field: a float is rejected for its type, tested elsewhere
    with pytest.raises(ValueError) as error:
        SpectrogramConfig(**{field: value})
    assert field in str(error.value) and repr(value) in str(error.value)
