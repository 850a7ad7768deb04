"""Config files: every field of SpectrogramConfig round-trips through dicts and JSON."""

import dataclasses
import json

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxspec import (
    Augmentation,
    ConfigError,
    Convolution,
    LogUniform,
    Noise,
    Normal,
    Scaled,
    SpectrogramConfig,
    TimeShift,
    Uniform,
    Volume,
    Window,
)
from jaxspec._serialize import INLINE_LIMIT

# The public spelling is the config's methods; short names keep the tests readable.
config_from_dict = SpectrogramConfig.from_dict
load_config = SpectrogramConfig.load


def config_to_dict(config, **kwargs):
    return config.to_dict(**kwargs)


def save_config(config, path):
    return config.save(path)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two short recordings on disk: noise at 8 kHz (resampled on load) and an impulse response."""
    folder = tmp_path_factory.mktemp("recordings")
    rng = np.random.default_rng(0)
    noise, ir = folder / "noise.wav", folder / "ir.flac"
    soundfile.write(noise, rng.normal(0, 0.1, 4000).astype(np.float32), 8000, subtype="FLOAT")
    soundfile.write(ir, (np.exp(-np.arange(800) / 80.0) * rng.normal(0, 0.3, 800)).astype(np.float32), 16000)
    return noise, ir


def _roundtrip(config):
    d = config_to_dict(config)
    assert json.loads(json.dumps(d)) == d  # JSON values only, unchanged by JSON
    return config_from_dict(json.loads(json.dumps(d)))


CONFIGS = [
    SpectrogramConfig(),
    SpectrogramConfig(sample_rate=8000, window_size=256, offset=80),
    SpectrogramConfig(window_size=0.032, offset="10ms", fft_size=1024),
    SpectrogramConfig(window_size="20ms", window_function=None, power=1.0),
    SpectrogramConfig(window_function="blackman", normalization="max", target_length=98),
    SpectrogramConfig(window_size=5, window_function=[0.1, 0.5, 1.0, 0.5, 0.1], normalization=("rms", 0.1)),
    SpectrogramConfig(target_length=1.5, normalization=("max", 0.5)),
    SpectrogramConfig(target_length="250ms", power=0.5),
    SpectrogramConfig(augmentation=Augmentation(volume=2.0)),
    SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.1, 0.1))),
    SpectrogramConfig(augmentation=Augmentation(volume=LogUniform(0.25, 4.0), noise=Normal(0.01, 0.002))),
    SpectrogramConfig(augmentation=Augmentation(time_shift=Scaled(0.1))),
    SpectrogramConfig(augmentation=Augmentation(time_shift=TimeShift(Scaled(Normal(0.0, 0.05))))),
    SpectrogramConfig(augmentation=Augmentation(time_shift=Scaled(Uniform(-0.2, 0.2)), volume=Volume(Uniform(1, 1)))),
    # Kaldi's symmetric windows (a window JSON without `symmetric` passed here: the mutation audit)
    SpectrogramConfig(window_function=Window("hamming", symmetric=True)),
    SpectrogramConfig(window_function=Window("blackman", symmetric=True), fft_size=512),
]


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_every_field_round_trips(config):
    again = _roundtrip(config)
    assert again == config
    for field in dataclasses.fields(SpectrogramConfig):
        assert getattr(again, field.name) == getattr(config, field.name), field.name
    assert again.window_samples == config.window_samples and again.offset_samples == config.offset_samples


def test_dict_form_is_the_documented_one():
    config = SpectrogramConfig(
        window_size="25ms",
        offset=160,
        normalization=("rms", 0.1),
        target_length=1.0,
        fft_size=512,
        augmentation=Augmentation(
            volume=(0.5, 1.5), noise=Normal(0.01, 0.001), time_shift=Scaled(LogUniform(0.1, 0.2))
        ),
    )
    assert config_to_dict(config) == {
        "sample_rate": 16000,
        "window_size": "25ms",
        "offset": 160,
        "window_function": "hann",
        "normalization": ["rms", 0.1],
        "target_length": 1.0,
        "augmentation": {
            "volume": {"gain": {"uniform": [0.5, 1.5]}},
            "noise": {"amplitude": {"normal": [0.01, 0.001]}},
            "time_shift": {"t": {"scaled": {"loguniform": [0.1, 0.2]}}},
        },
        "power": 2.0,
        "fft_size": 512,
    }


def test_int_float_and_string_sizes_keep_their_meaning():
    # 1 frame, 1.0 second and "1s" are different settings; JSON must not merge them.
    frames, seconds, text = (_roundtrip(SpectrogramConfig(target_length=v)) for v in (1, 1.0, "1s"))
    assert frames.target_frames == 1 and frames.target_samples is None
    assert seconds.target_samples == 16000 and seconds.target_length == 1.0 and isinstance(seconds.target_length, float)
    assert text.target_length == "1s"


def test_numpy_scalars_are_written_as_json_numbers():
    config = SpectrogramConfig(window_size=np.int64(320), offset=np.float64(0.01), fft_size=np.int32(512))
    text = json.dumps(config_to_dict(config))
    assert config_from_dict(json.loads(text)) == config


def test_bare_range_is_read_as_uniform():
    config = config_from_dict(
        {"augmentation": {"volume": {"gain": [0.5, 2.0]}, "time_shift": {"t": {"scaled": [-0.1, 0.1]}}}}
    )
    assert config.augmentation.volume.gain == Uniform(0.5, 2.0)
    assert config.augmentation.time_shift.t == Scaled(Uniform(-0.1, 0.1))


def test_missing_keys_take_defaults():
    assert config_from_dict({}) == SpectrogramConfig()
    assert config_from_dict({"offset": 100}) == SpectrogramConfig(offset=100)


# ------------------------------------------------------------------ recordings
def test_recordings_are_written_by_path_and_reloaded(recordings):
    noise, ir = recordings
    d = {
        "augmentation": {
            "noise": {"amplitude": 0.5, "signal": str(noise)},
            "convolution": {"signal": str(ir), "mix": {"uniform": [0.2, 0.8]}},
        }
    }
    config = config_from_dict(d)
    assert config.augmentation.noise.signal.shape == (8000,)  # 4000 samples at 8 kHz, resampled to 16 kHz
    out = config_to_dict(config)
    assert out["augmentation"]["noise"] == {"amplitude": 0.5, "signal": str(noise)}
    assert out["augmentation"]["convolution"]["signal"] == str(ir)
    assert config_from_dict(out) == config
    # The config copies its arrays when rebuilt (replace, jit); the path is still known.
    assert config_to_dict(dataclasses.replace(config, offset=100))["augmentation"]["noise"]["signal"] == str(noise)


def test_signals_mapping_and_source_field_name_the_file():
    config = SpectrogramConfig(augmentation=Augmentation(convolution=Convolution(np.ones(INLINE_LIMIT, np.float32))))
    with pytest.raises(ConfigError, match=r"signals=\{'convolution': 'path.wav'\} \(a file"):
        config_to_dict(config)
    assert (
        config_to_dict(config, signals={"convolution": "room.wav"})["augmentation"]["convolution"]["signal"]
        == "room.wav"
    )
    named = dataclasses.replace(config.augmentation.convolution, source="long_ones.wav")
    config = dataclasses.replace(config, augmentation=dataclasses.replace(config.augmentation, convolution=named))
    assert config_to_dict(config)["augmentation"]["convolution"]["signal"] == "long_ones.wav"
    with pytest.raises(ConfigError, match="unknown stage"):
        config_to_dict(config, signals={"volume": "x.wav"})


def test_a_file_with_a_long_inline_recording_is_refused_as_writing_refuses_it():
    # 150 000 samples inline were read, then the command line (which writes the config it used)
    # refused it with signals={...} advice it cannot take (an audit)
    d = {"augmentation": {"noise": {"amplitude": 0.1, "signal": {"samples": [0.01] * INLINE_LIMIT}}}}
    with pytest.raises(ConfigError, match=rf"augmentation.noise.signal.samples holds {INLINE_LIMIT} samples; inline"):
        config_from_dict(d)
    d["augmentation"]["noise"]["signal"]["samples"].pop()
    assert config_from_dict(d).augmentation.noise.signal.shape == (INLINE_LIMIT - 1,)
    # counted in frames, as written: a stereo recording of 60 000 frames is read (a review)
    d["augmentation"]["noise"]["signal"]["samples"] = np.full((60000, 2), 0.01).tolist()
    config = config_from_dict(d)
    assert config.augmentation.noise.signal.shape == (60000,) and config_from_dict(config_to_dict(config)) == config


def test_an_empty_recording_path_in_a_file_is_refused_naming_it(tmp_path):
    # "" was joined to the file's folder: "Noise signal 'j': cannot read 'j': it is a directory"
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "c.json").write_text(json.dumps({"augmentation": {"noise": {"amplitude": 0.1, "signal": ""}}}))
    with pytest.raises(ConfigError, match=r"c.json': augmentation.noise.signal='' must be a path"):
        load_config(tmp_path / "j" / "c.json")


def test_a_fraction_too_large_for_a_float_is_a_config_error():
    from fractions import Fraction

    for field in ("window_size", "offset"):  # OverflowError: integer division result too large for a float
        with pytest.raises(ConfigError, match=f"{field}=Fraction.* is not a finite number of seconds"):
            SpectrogramConfig(**{field: Fraction(10**400, 3)})


def test_a_recording_path_under_home_is_kept_expanded(tmp_path, monkeypatch):
    # "~/n.wav" was read from the home folder but kept as "<cwd>/~/n.wav": the printed config
    # could not be loaded, and a rerun never saw the recording change (an audit)
    monkeypatch.setenv("HOME", str(tmp_path))
    soundfile.write(tmp_path / "n.wav", np.full(1600, 0.1, np.float32), 16000)
    config = config_from_dict({"augmentation": {"noise": {"amplitude": 0.1, "signal": "~/n.wav"}}})
    assert config.augmentation.noise.source == str(tmp_path / "n.wav")
    assert config_from_dict(config_to_dict(config)) == config


def test_a_tree_mapped_file_recording_survives_replacing_another_field(tmp_path):
    # dataclasses.replace(quiet, window_size=512) read the file again: the halved samples were lost
    import jax

    soundfile.write(tmp_path / "n.wav", np.sin(np.arange(1600) / 5).astype(np.float32) * 0.3, 16000)
    config = SpectrogramConfig(augmentation=Augmentation(noise=Noise(0.1, str(tmp_path / "n.wav"))))
    quiet = jax.tree.map(lambda a: a * 0.5, config)
    for changed in (dataclasses.replace(quiet, window_size=512), jax.jit(lambda c: c)(quiet)):
        np.testing.assert_array_equal(changed.augmentation.noise.signal, quiet.augmentation.noise.signal)
    # at another rate the file is read again (documented), and a config JAX rebuilt holds the file's
    assert dataclasses.replace(quiet, sample_rate=8000).augmentation.noise.signal.shape == (800,)
    rebuilt = dataclasses.replace(jax.jit(lambda c: c)(config), offset=160)
    assert rebuilt == dataclasses.replace(config, offset=160)


def test_short_recordings_without_a_path_are_stored_inline_exactly():
    signal = np.random.default_rng(1).normal(0, 0.1, 1000).astype(np.float32)
    config = SpectrogramConfig(augmentation=Augmentation(noise=Noise(Uniform(0.1, 0.3), signal)))
    d = config_to_dict(config)
    assert len(d["augmentation"]["noise"]["signal"]["samples"]) == 1000
    again = _roundtrip(config)
    assert again == config
    np.testing.assert_array_equal(np.asarray(again.augmentation.noise.signal), signal)


def test_json_file_paths_are_relative_to_the_file(recordings, tmp_path, monkeypatch):
    noise, ir = recordings
    monkeypatch.chdir(noise.parent)
    config = config_from_dict({"augmentation": {"noise": {"signal": "noise.wav"}, "convolution": {"signal": str(ir)}}})
    file = save_config(config, tmp_path / "configs" / "cfg.json")
    written = json.loads(file.read_text())
    relative = written["augmentation"]["noise"]["signal"]
    assert not relative.startswith("/") and (file.parent / relative).resolve() == noise.resolve()
    relative_ir = written["augmentation"]["convolution"]["signal"]  # given absolute, written relative too
    assert not relative_ir.startswith("/") and (file.parent / relative_ir).resolve() == ir.resolve()
    monkeypatch.chdir(tmp_path)  # somewhere else entirely
    assert load_config(file) == config


@pytest.mark.parametrize("config", CONFIGS[:6] + CONFIGS[9:])
def test_json_file_round_trip(config, tmp_path):
    assert load_config(save_config(config, tmp_path / "c.json")) == config


# ------------------------------------------------------------------ errors
def test_callable_window_is_a_clear_error():
    config = SpectrogramConfig(window_size=8, window_function=np.hanning)
    with pytest.raises(ConfigError, match=r"window_function=.*callable.*tuple\(config.window\)"):
        config_to_dict(config)
    fixed = dataclasses.replace(config, window_function=tuple(config.window))
    assert _roundtrip(fixed) == fixed


class _Custom:
    def sample(self, key):
        return 1.0


@pytest.mark.parametrize(
    "augmentation, field",
    [
        (Augmentation(volume=lambda key: 1.0), "augmentation.volume.gain"),
        (Augmentation(noise=_Custom()), "augmentation.noise.amplitude"),
        (Augmentation(time_shift=Scaled(lambda key: 0.0)), r"augmentation.time_shift.t.s"),
    ],
)
def test_callable_parameters_are_clear_errors(augmentation, field):
    with pytest.raises(ConfigError, match=rf"{field}=.*cannot be written"):
        config_to_dict(SpectrogramConfig(augmentation=augmentation))


@pytest.mark.parametrize(
    "d, message",
    [
        ({"hop": 160}, r"config has unknown key\(s\) \['hop'\]; valid keys are \['sample_rate'"),
        ({"augmentation": {"gain": 1.0}}, r"augmentation has unknown key\(s\) \['gain'\].*'volume'"),
        ({"augmentation": {"volume": {"amount": 1.0}}}, r"augmentation.volume has unknown key\(s\) \['amount'\]"),
        ({"augmentation": {"volume": {"gain": {"gauss": [1, 2]}}}}, r"gain has unknown key\(s\) \['gauss'\].*'normal'"),
        ({"augmentation": {"volume": {"gain": {"scaled": 0.1}}}}, r"unknown key\(s\) \['scaled'\]"),
        ({"augmentation": {"volume": {"gain": {"uniform": [1]}}}}, r"uniform takes a list of two numbers"),
        ({"augmentation": {"noise": {"signal": {"file": "x.wav"}}}}, r"signal has unknown key\(s\) \['file'\]"),
        ({"augmentation": {"noise": {"signal": 3}}}, r"must be a path"),
        ({"augmentation": {"volume": {}}}, r"augmentation.volume=\{\} needs 'gain'"),
        ({"augmentation": {"noise": {}}}, r"Noise needs an amplitude"),
        ({"augmentation": []}, r"augmentation must be a JSON object"),
        ({"offset": -5}, r"offset=-5"),
        ({"normalization": ["loud", 1.0]}, r"normalization="),
    ],
)
def test_bad_dicts_are_clear_errors(d, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(d)


def test_bad_json_files_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"offset": 160,}')
    with pytest.raises(ConfigError, match=r"broken.json.*not valid JSON.*line 1"):
        load_config(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"ofset": 160}')
    with pytest.raises(ConfigError, match=r"unknown.json.*\['ofset'\]"):
        load_config(unknown)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        config_from_dict({"augmentation": {"noise": {"signal": str(tmp_path / "missing.wav")}}})


# ------------------------------------------------------------------ property
_params = st.one_of(
    st.floats(0.0, 2.0),
    st.tuples(st.floats(0.0, 1.0), st.floats(1.0, 2.0)),
    st.builds(Uniform, st.floats(0.0, 1.0), st.floats(1.0, 2.0)),
    st.builds(Normal, st.floats(0.0, 1.0), st.floats(0.0, 1.0)),  # a mean below 0: refused for noise
    st.builds(LogUniform, st.floats(0.01, 1.0), st.floats(1.0, 10.0)),
)
_sizes = st.one_of(st.none(), st.integers(16, 600), st.sampled_from([0.02, 0.025, "25ms", "32ms", "0.03s"]))


@settings(max_examples=25, deadline=None)
@given(
    window_size=_sizes,
    offset=st.one_of(st.none(), st.integers(1, 300), st.sampled_from([0.01, "10ms", "5ms"])),
    window_function=st.sampled_from([None, "hann", "hamming", "blackman", "bartlett"]),
    normalization=st.sampled_from([None, "max", ("max", 0.5), ("rms", 0.1)]),
    target_length=st.one_of(st.none(), st.integers(1, 200), st.floats(0.1, 3.0), st.sampled_from(["1s", "500ms"])),
    power=st.sampled_from([0.5, 1.0, 2.0]),
    extra_fft=st.one_of(st.none(), st.integers(0, 100)),
    volume=st.one_of(st.none(), _params),
    noise=st.one_of(st.none(), _params),
    shift=st.one_of(st.none(), _params, _params.map(Scaled)),
)
def test_random_configs_round_trip(
    window_size, offset, window_function, normalization, target_length, power, extra_fft, volume, noise, shift
):
    base = SpectrogramConfig(window_size=window_size)
    fft_size = None if extra_fft is None else base.window_samples + extra_fft
    augmentation = None
    if volume is not None or noise is not None or shift is not None:
        augmentation = Augmentation(volume=volume, noise=noise, time_shift=shift)
    config = SpectrogramConfig(
        window_size=window_size,
        offset=offset,
        window_function=window_function,
        normalization=normalization,
        target_length=target_length,
        power=power,
        fft_size=fft_size,
        augmentation=augmentation,
    )
    assert _roundtrip(config) == config


def test_sizes_given_as_fractions_are_written(tmp_path):
    # a Fraction is a real number the sizes accept; save raised a bare TypeError (not JSON serializable)
    from fractions import Fraction

    config = SpectrogramConfig(window_size=Fraction(1, 40), offset=Fraction(1, 100), target_length=Fraction(1, 2))
    loaded = SpectrogramConfig.load(config.save(tmp_path / "cfg.json"))
    assert (loaded.window_size, loaded.offset, loaded.target_length) == (0.025, 0.01, 0.5)
    for name in ("window_samples", "offset_samples", "target_samples", "target_frames"):
        assert getattr(loaded, name) == getattr(config, name)


@pytest.mark.parametrize("stage", ["noise", "convolution"])
def test_inline_samples_beyond_float32_are_named_as_too_large(stage):
    """Inline samples were cast to float32 before the stage checked them: 1e39 became inf, the
    error said "NaN or infinite samples" (with NumPy's overflow RuntimeWarning first, an
    exception of its own under -W error; an audit). The stage now sees the JSON's numbers."""
    import warnings

    fields = {"amplitude": 0.1} if stage == "noise" else {}
    data = {"augmentation": {stage: {**fields, "signal": {"samples": [1e39, 0.5]}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match=r"samples up to 1e\+39 in magnitude, beyond float32's range"):
            SpectrogramConfig.from_dict(data)


def test_a_saved_configs_librosa_or_mistyped_key_names_the_field():
    # the constructor said "did you mean fft_size?" for n_fft; a config file listed the valid keys only
    for key, meant in (("n_fft", "fft_size"), ("hop_length", "offset"), ("windw_size", "window_size")):
        with pytest.raises(ConfigError, match=rf"unknown key\(s\) \['{key}'\] \(did you mean {meant}\?\)"):
            SpectrogramConfig.from_dict({key: 512})
