"""The rough edges a new user hit (issue 11), each with what it does now."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec import Augmentation, SpectrogramConfig
from jaxspec.cli import main


@pytest.fixture
def clips(tmp_path):
    (tmp_path / "clips" / "sub" / "deeper").mkdir(parents=True)
    for name, n in (("sub/a.wav", 8000), ("sub/deeper/b.wav", 9000)):
        soundfile.write(tmp_path / "clips" / name, np.full(n, 0.01, np.float32), 16000)
    return tmp_path / "clips"


def test_augmentation_flags_without_a_key_warn(clips, tmp_path, capsys):
    assert main(["encode", str(clips), "-o", str(tmp_path / "o"), "--volume", "0.5:1.5", "--no-progress"]) == 0
    assert "not applied without --key" in capsys.readouterr().err
    picture = tmp_path / "p.png"
    assert main(["plot", str(clips / "sub" / "a.wav"), "-o", str(picture), "--volume", "0.5:1.5"]) == 0
    assert "only with --augment N" in capsys.readouterr().err and picture.is_file()


def test_one_input_with_an_npy_output_writes_that_file(clips, tmp_path, capsys):
    target = tmp_path / "one.npy"
    assert main(["encode", str(clips / "sub" / "a.wav"), "-o", str(target), "--no-progress"]) == 0
    assert target.is_file()
    np.testing.assert_allclose(np.load(target), jaxspec.encode(SpectrogramConfig(), str(clips / "sub" / "a.wav")))
    assert main(["encode", str(clips), "-o", str(tmp_path / "two.npy"), "--no-progress"]) == 2  # two inputs
    # with a key: the draws of the input's name ("a"), as in a folder, whatever the file is called
    flags = ["--key", "0", "--volume", "0.5:1.5", "--no-progress"]
    assert main(["encode", str(clips / "sub" / "a.wav"), "-o", str(tmp_path / "other.npy"), *flags]) == 0
    assert main(["encode", str(clips / "sub" / "a.wav"), "-o", str(tmp_path / "folder"), *flags]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "other.npy"), np.load(tmp_path / "folder" / "a.npy"))
    assert main(["encode", str(clips), "-o", str(tmp_path / "all.npz"), "--no-progress"]) == 0  # an archive
    assert (tmp_path / "all.npz").is_file() and "as --single" in capsys.readouterr().err
    with np.load(tmp_path / "all.npz") as archive:
        np.testing.assert_array_equal(archive["sub/a"], np.load(target))  # keyless, as one.npy


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_output_named_like_a_file_that_is_an_existing_folder_stays_a_folder(clips, tmp_path, capsys, suffix):
    # -o feats.npy with a folder feats.npy was "cannot write 'feats.npy': is a folder" (exit 1), where
    # -o feats.npz wrote feats.npz/a.npy: one rule for both
    folder = tmp_path / f"feats{suffix}"
    folder.mkdir()
    assert main(["encode", str(clips / "sub" / "a.wav"), "-o", str(folder), "--no-progress"]) == 0
    assert (folder / "a.npy").is_file() and capsys.readouterr().out.startswith("1 written")


@pytest.mark.parametrize("given", ["missing.wav", "nothing*.wav", "empty"])
def test_an_npy_output_names_the_input_that_is_not_found(given, tmp_path, capsys, monkeypatch):
    # was "names one .npy file but 0 inputs were given; give an output folder" (exit 2), the reason unsaid
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["encode", given, "-o", "one.npy", "--no-progress"]) == 1
    out = capsys.readouterr()
    assert f"error: {given}: " in out.err and "0 inputs" not in out.err
    assert out.out.startswith("0 written, 1 failed") and not (tmp_path / "one.npy").exists()


def test_a_link_loop_given_as_input_is_named_as_one(tmp_path, capsys, monkeypatch):
    # was "loop.wav: no such file or folder" (inside a folder: "Too many levels of symbolic links")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.wav").symlink_to("loop2.wav")
    (tmp_path / "loop2.wav").symlink_to("loop.wav")
    for command in (["encode", "loop.wav", "-o", "out", "--no-progress"], ["info", "loop.wav"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "loop.wav: " in err and "symbolic links" in err and "no such file" not in err


def test_overlapping_inputs_encode_each_file_once(clips, tmp_path, capsys):
    code = main(
        ["encode", str(clips / "sub"), str(clips / "sub" / "deeper"), "-o", str(tmp_path / "o"), "--no-progress"]
    )
    assert code == 0
    out = capsys.readouterr()
    assert out.out.startswith("2 written, 0 failed") and "no audio files" not in out.err


@pytest.mark.parametrize("shift, expected", [("100ms", 0.1), (("-100ms", "0.1s"), jaxspec.Uniform(-0.1, 0.1))])
def test_time_shift_takes_durations(shift, expected):
    assert Augmentation(time_shift=shift).time_shift.t == expected


def test_duration_flags_with_signs(capsys):
    assert main(["config", "--time-shift", "-100ms:100ms"]) == 0
    assert '"t": {"uniform": [-0.1, 0.1]}' in capsys.readouterr().out
    # a duration beside seconds, as Augmentation(time_shift=("-100ms", 0.1)) takes it, was
    # "'-100ms:0.1' is not a parameter" (an audit)
    assert main(["config", "--time-shift=-100ms:0.1"]) == 0
    assert '"t": {"uniform": [-0.1, 0.1]}' in capsys.readouterr().out
    assert Augmentation(time_shift=("-100ms", 0.1)).time_shift.t == jaxspec.Uniform(-0.1, 0.1)
    with pytest.raises(SystemExit, match="2"):  # argparse's usage error: a fraction of the duration, not seconds
        main(["config", "--time-shift", "scaled:100ms"])
    assert "'100ms' is not a parameter" in capsys.readouterr().err
    assert main(["config", "--offset", "-10ms"]) == 2
    assert "offset='-10ms' is -160 samples" in capsys.readouterr().err
    # a bare leading dot, a leading +, a signed target length, and a signed flag given last
    assert main(["config", "--time-shift", "-.05:.05"]) == 0
    assert '"t": {"uniform": [-0.05, 0.05]}' in capsys.readouterr().out
    assert main(["config", "--window-size", "+400"]) == 0  # an int: samples, not 400 seconds
    assert '"window_size": 400,' in capsys.readouterr().out
    assert main(["config", "--target-length", "-1s"]) == 2
    assert "target_length='-1s' is -16000 samples" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):  # argparse's usage error, not an IndexError
        main(["config", "--offset"])
    assert "expected one argument" in capsys.readouterr().err
    assert main(["config", "--normalization", "rms:10000"]) == 0  # the cap itself is accepted


@pytest.mark.parametrize("flag, hint", [("20s", False), ("-20s:20s", False), ("-20s:0.1", False), ("-100:0ms", True)])
def test_a_long_shift_flag_in_seconds_gets_no_milliseconds_hint(flag, hint, capsys):
    # "--time-shift 20s" was turned into 20.0 before TimeShift saw it, whose warning then told
    # the user that "a number is seconds: '100ms' for milliseconds" (an audit); a long bound
    # written bare beside a duration still gets it (a review)
    assert main(["config", f"--time-shift={flag}"]) == 0
    err = capsys.readouterr().err
    assert "reaches 10 s or more" in err and ("for milliseconds" in err) == hint


def test_negative_noise_magnitudes_are_errors(capsys):
    for value in (-0.1, (-0.2, 0.1)):  # ("must lie in [0.0, inf]" beside a cap of 10000 before)
        with pytest.raises(jaxspec.ConfigError, match=r"Noise amplitude=.* must be at least 0$"):
            Augmentation(noise=value)
    assert main(["config", "--noise", "-0.1"]) == 2


def test_info_says_samples_and_the_shape_encode_writes(clips, capsys):
    assert main(["info", str(clips / "sub" / "a.wav")]) == 0
    stdout = capsys.readouterr().out
    assert "8000 samples at 16000 Hz" in stdout
    assert f"({SpectrogramConfig().num_frames(8000)}, 201)" in stdout


def test_info_of_a_flac_cut_midway_fails_as_encode_does(tmp_path, capsys):
    """libsndfile's FLAC decoder stops with "lost sync" where the file was cut: encode fails
    with an AudioFileError naming it (SPEC 5: a file error, streamed or not), and info
    decodes it to count its frames, failing alike (it showed the header's full shape)."""
    x = (0.3 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32)
    whole = tmp_path / "whole.flac"
    soundfile.write(whole, x, 16000, subtype="PCM_16")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(jaxspec.AudioFileError, match="cut.flac"):
        jaxspec.encode(SpectrogramConfig(), str(cut))
    assert main(["info", str(cut), str(whole)]) == 1
    out = capsys.readouterr()
    assert "cut.flac" in out.err and "(361, 201)" in out.out  # the whole file's shape, once
    assert out.out.count("(361, 201)") == 1


@pytest.mark.skipif("MP3" not in soundfile.available_formats(), reason="this libsndfile writes no MP3")
def test_info_of_a_cut_mp3_gives_the_shape_encode_writes(tmp_path, capsys):
    whole, cut = tmp_path / "whole.mp3", tmp_path / "cut.mp3"
    soundfile.write(whole, (0.3 * np.sin(np.arange(94241) / 10)).astype(np.float32), 44100, format="MP3")
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])  # its header still declares 94241 frames
    with pytest.warns(jaxspec.errors.TruncatedAudioWarning):
        shape = np.asarray(jaxspec.encode(SpectrogramConfig(), str(cut))).shape
    assert main(["info", str(cut)]) == 0
    assert f"{shape}" in capsys.readouterr().out  # was the header's (258, 201)


def test_channel_layouts_that_are_evidently_wrong_are_errors():
    with pytest.raises(jaxspec.InputError, match="channels last"):
        jaxspec.spectrogram(SpectrogramConfig(), np.zeros((16000, 2), np.float32))
    with pytest.raises(jaxspec.InputError, match=r"x\.T"):
        jaxspec.encode(SpectrogramConfig(), np.zeros((2, 16000), np.float32), sample_rate=16000)
    with pytest.raises(jaxspec.InputError, match=r"samples\.T"):
        jaxspec.Audio(np.zeros((2, 16000), np.float32), 16000)  # at once, as the README says (not at encode)
    assert jaxspec.spectrogram(SpectrogramConfig(), np.zeros((3, 4000), np.float32)).shape[0] == 3  # a batch
    # rows of a few samples that hold whole windows are a batch of short signals, as SPEC 3.1 reads [B, L]
    short = SpectrogramConfig(window_size=4, offset=2)
    assert jaxspec.spectrogram(short, np.ones((800, 8), np.float32)).shape == (800, 4, 3)
    with pytest.raises(jaxspec.InputError, match="channels last"):
        jaxspec.spectrogram(short, np.ones((800, 3), np.float32))  # shorter than a window: one signal's channels


def test_wide_integers_holding_16_bit_values_warn():
    with pytest.warns(jaxspec.PcmScaleWarning, match="astype"):
        jaxspec.encode(SpectrogramConfig(), np.full(4000, 1000, np.int32), sample_rate=16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", jaxspec.PcmScaleWarning)
        jaxspec.encode(SpectrogramConfig(), np.full(4000, 2**20, np.int32), sample_rate=16000)  # truly 32-bit


def _cut_wav(path: Path) -> str:
    soundfile.write(path, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return str(path)


@pytest.mark.parametrize(
    "call",
    [
        lambda tmp: jaxspec.presets.librosa_melspectrogram(sr=8000, fmax=8000),
        lambda tmp: jaxspec.SpectrogramConfig(sample_rate=8000, features=(jaxspec.MelFilterbank(40, fmax=8e3),)),
        lambda tmp: jaxspec.encode(SpectrogramConfig(), np.full(4000, 1000, np.int32), sample_rate=16000),
        lambda tmp: jaxspec.spectrogram(SpectrogramConfig(), np.full(4000, 1000, np.int32)),
        lambda tmp: jaxspec.load_audio(_cut_wav(tmp / "cut.wav")),
        lambda tmp: jaxspec.encode(SpectrogramConfig(), _cut_wav(tmp / "cut.wav")),
        lambda tmp: jaxspec.encode(SpectrogramConfig(), _cut_wav(tmp / "cut.wav"), stream=True),
    ],
    ids=["preset-fmax", "config-fmax", "encode-int32", "spectrogram-int32", "load-cut", "encode-cut", "stream-cut"],
)
def test_warnings_point_at_the_users_line(tmp_path, call):
    # a fixed stacklevel named a jaxspec line (presets.py, io.py, a dataclass's "<string>") on some
    # paths, so `python -W error::...` and warning filters by module missed the user's code
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(tmp_path)
    ours = [w for w in caught if issubclass(w.category, UserWarning)]
    assert ours and {w.filename for w in ours} == {__file__}, [(w.filename, str(w.message)) for w in ours]


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("98 ", (98, 201)), (" 98", (98, 201)), ("9_8", None), (" all", (121, 201)), ("None ", (121, 201))],
)
def test_a_count_flag_with_a_space_or_underscore_is_not_read_as_seconds(tmp_path, capsys, flag, expected):
    # float() accepts "98 " and "9_8" where the int test did not: 98 s (11790 frames) instead of 98
    # frames; spaces around a word ("all", "none") were a duration error while "98 " was a count
    soundfile.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    out = tmp_path / "a.npy"
    code = main(["encode", str(tmp_path / "a.wav"), "-o", str(out), "--target-length", flag, "--no-progress"])
    if expected is None:
        assert code == 2 and "not a duration" in capsys.readouterr().err and not out.exists()
    else:
        assert code == 0 and np.load(out).shape == expected
    code = main(
        ["encode", str(tmp_path / "a.wav"), "-o", str(out), "--offset", " auto", "--overwrite", "--no-progress"]
    )
    assert code == 0 and np.load(out).shape == (121, 201)


def test_encode_to_file_refuses_to_write_over_its_input(tmp_path):
    # the CLI refused -o INPUT; encode_to_file(c, "a.wav", "a.wav") replaced the WAV with the .npy
    soundfile.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    before = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "link.wav").symlink_to(tmp_path / "a.wav")
    for out in (tmp_path / "a.wav", tmp_path / "link.wav"):
        with pytest.raises(jaxspec.InputError, match="out_path '.*' is the input '.*a.wav' itself"):
            jaxspec.encode_to_file(SpectrogramConfig(), tmp_path / "a.wav", out)
    assert (tmp_path / "a.wav").read_bytes() == before


def test_plot_file_and_save_refuse_to_write_over_their_inputs(tmp_path):
    # the CLI refused plot -o INPUT and config --noise-file rec.wav -o rec.wav; plot_file(c,
    # "a.wav", "a.wav") drew a PNG over the WAV, config.save("rec.wav") put JSON in the recording
    from jaxspec.plot import plot_file  # matplotlib is in the [test] extra, as for the other plot tests

    wav, link = tmp_path / "a.png", tmp_path / "link.png"  # a WAV named .png: plot's own default name
    soundfile.write(wav, 0.1 * np.ones(1600, np.float32), 16000, format="WAV")
    link.symlink_to(wav)
    before = wav.read_bytes()
    noisy = SpectrogramConfig(augmentation=Augmentation(noise=jaxspec.Noise(0.1, str(wav))))
    for out in (wav, link):
        with pytest.raises(jaxspec.InputError, match="output '.*' is the input '.*a.png' itself"):
            plot_file(SpectrogramConfig(), wav, out)
        with pytest.raises(jaxspec.InputError, match="path '.*' is the recording '.*a.png' itself"):
            noisy.save(out)
        with pytest.raises(jaxspec.InputError, match="is the recording"):  # one given by signals=
            SpectrogramConfig().save(out, signals={"noise": str(wav)})
        with pytest.raises(jaxspec.InputError, match="output '.*' is the recording '.*a.png' itself"):
            plot_file(noisy, tmp_path / "b.wav", out)  # (not read: refused first)
        with pytest.raises(jaxspec.InputError, match="out_path '.*' is the recording '.*a.png' itself"):
            jaxspec.encode_to_file(noisy, tmp_path / "b.wav", out)
    assert wav.read_bytes() == before
    assert noisy.save(tmp_path / "c.json").is_file()  # other names are written


def test_demo_takes_dash_o_and_resample_takes_whole_float_rates(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "d.png")]) == 0 and (tmp_path / "d.png").is_file()
    assert jaxspec.resample(np.zeros(441, np.float32), 44100.0, 16000).shape == (160,)
    with pytest.raises(jaxspec.ConfigError, match="44100.5"):
        jaxspec.resample(np.zeros(441, np.float32), 44100.5, 16000)


def test_plot_titles_name_the_file_rate_and_empty_files_draw_quietly(tmp_path, capsys):
    from jaxspec import plot

    soundfile.write(tmp_path / "st.wav", np.full((4410, 2), 0.01, np.float32), 44100)
    x = jaxspec.encoding.prepare(SpectrogramConfig(), str(tmp_path / "st.wav"))
    plot.plot_file(SpectrogramConfig(), tmp_path / "st.wav", tmp_path / "st.png")
    panels = plot.panels_for(SpectrogramConfig(), x, name="st.wav", source="at 44100 Hz stereo -> 16000 Hz")
    assert "(0.10 s at 44100 Hz stereo -> 16000 Hz)" in panels[0].title
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.plot_file(SpectrogramConfig(), tmp_path / "empty.wav", tmp_path / "e.png")
    assert (tmp_path / "e.png").is_file()


def test_cli_errors_name_the_flag_the_config_file_and_the_output(clips, tmp_path, capsys):
    # a range error names the flag it came from (was the bare "Uniform(low=2.0, high=1.0): ...")
    assert main(["config", "--volume", "2:1"]) == 2
    assert "--volume: augmentation.volume.gain: Uniform(low=2.0, high=1.0)" in capsys.readouterr().err
    assert main(["config", "--noise=-0.1"]) == 2
    assert "--noise: augmentation.noise: Noise amplitude=-0.1" in capsys.readouterr().err
    # an error of the --config file names the file, as SpectrogramConfig.load does
    file = tmp_path / "bad.json"
    file.write_text('{"augmentation": {"volume": {"gain": [2, 1]}}}')
    assert main(["config", "--config", str(file)]) == 2
    assert f"config file {str(file)!r}: augmentation.volume" in capsys.readouterr().err
    # a partial file that the flags complete is fine: the merged config is what counts
    file.write_text('{"fft_size": 256}')
    assert main(["config", "--config", str(file), "--window-size", "256"]) == 0
    assert '"fft_size": 256' in capsys.readouterr().out
    assert main(["config", "--config", str(file)]) == 2  # alone (window 400) it is not
    assert f"config file {str(file)!r}: fft_size=256" in capsys.readouterr().err
    # an output that is a folder, or that cannot be created, is named (not the temporary file)
    assert main(["config", "-o", str(tmp_path)]) == 2
    assert f"{str(tmp_path)!r}: is a folder; give a file name" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse's usage error (was minutes of drawing)
        main(["plot", str(clips / "sub" / "a.wav"), "--augment", "100000", "--volume", "0.5:1.5"])
    assert usage.value.code == 2 and "at most 64" in capsys.readouterr().err


def test_a_clash_of_three_names_them_all(tmp_path, capsys):
    for name in ("a.wav", "a.flac", "a.ogg"):
        soundfile.write(tmp_path / name, np.zeros(1600, np.float32), 16000)
    assert main(["encode", str(tmp_path), "-o", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "would all be written as 'a'" in err and err.count("a.") >= 3


# ---- plots and outputs (an audit): each test failed on the code before its fix


@pytest.mark.parametrize(
    "stages, scale",
    [
        ((jaxspec.MelFilterbank(20), jaxspec.Deltas()), "signed"),  # deltas of power: negative values
        ((jaxspec.MelFilterbank(20), jaxspec.SubtractMean()), "signed"),
        ((jaxspec.MelFilterbank(20), jaxspec.Log(), jaxspec.DCT(13)), "signed"),
        ((jaxspec.MelFilterbank(20), jaxspec.Log()), "level"),
        ((jaxspec.MelFilterbank(20),), "power"),
    ],
)
def test_plot_draws_signed_features_as_values_centred_on_0(stages, scale):
    from matplotlib.image import AxesImage

    from jaxspec import features, plot

    config = SpectrogramConfig(features=stages)
    x = np.sin(np.arange(4000) / 3.0).astype(np.float32) * np.linspace(0, 1, 4000, dtype=np.float32)
    panels = plot.panels_for(config, x)
    (image,) = [a for ax in plot.figure(panels, config).axes for a in ax.get_images() if isinstance(a, AxesImage)]
    low, high = image.get_clim()
    values = panels[0].spectrogram
    if scale == "signed":  # a negative value is blue, not the floor of a dB scale (black, as silence)
        assert values.min() < 0 and image.get_cmap().name == "RdBu_r"
        assert low == -high and high == pytest.approx(np.abs(values).max(), rel=1e-6)
    else:
        assert image.get_cmap().name == "magma" and (scale == "power") == (high - low == plot.DYNAMIC_RANGE_DB)
    assert set(plot._STAGE_SCALE) == set(features.FEATURES.values())  # every stage of the table has a scale


def test_mel_centres_are_the_filters_centres_even_for_empty_filters():
    from jaxspec import plot

    with pytest.warns(UserWarning, match="empty"):  # 128 bands on 129 bins: the lowest filters are empty
        config = SpectrogramConfig(window_size=256, features=(jaxspec.MelFilterbank(128), jaxspec.Log()))
    centres = plot.mel_centres(config)
    assert np.all(np.diff(centres) > 0) and centres[0] > 0  # argmax gave 0 Hz for an empty filter
    librosa = pytest.importorskip(
        "librosa", reason="the reference is in the [test] extra; absent on some accelerator images"
    )
    np.testing.assert_allclose(centres, librosa.mel_frequencies(130, fmax=8000.0)[1:-1], rtol=1e-9)


def test_an_atomic_overwrite_keeps_the_file_mode(tmp_path, capsys):
    import os
    import stat

    from jaxspec._atomic import atomic_file

    target = tmp_path / "c.json"
    target.write_text("{}")
    target.chmod(0o600)  # private, as open(path, "w") leaves it
    assert main(["config", "-o", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    umask = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "new.bin") as file:  # a new file: 0666 less the umask, as before
            file.write(b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o644


def test_plot_refuses_formats_that_need_another_program(tmp_path, capsys):
    from jaxspec import plot

    clip = tmp_path / "c.wav"
    soundfile.write(clip, np.sin(np.arange(1600) / 3.0).astype(np.float32), 16000)
    assert main(["plot", str(clip), "-o", str(tmp_path / "x.pgf")]) == 2  # was exit 1: "xelatex not found"
    err = capsys.readouterr().err
    assert f"-o '{tmp_path / 'x.pgf'}': .pgf needs LaTeX" in err and ".png" in err and ".pgf," not in err
    for kind in ("eps", "ps", "svgz"):  # listed: written by matplotlib alone (no Ghostscript)
        assert kind in plot.picture_formats()
        assert plot.plot_file(SpectrogramConfig(), clip, tmp_path / f"x.{kind}", dpi=20).stat().st_size > 1000


def test_an_output_ending_in_a_separator_names_a_folder(clips, tmp_path, capsys):
    clip = str(clips / "sub" / "a.wav")
    for argv in (["plot", clip, "-o", f"{tmp_path}/pic/"], ["config", "-o", f"{tmp_path}/cfg/"]):
        assert main(argv) == 2  # wrote a file named pic (cfg)
        assert f"-o '{argv[-1]}' names a folder" in capsys.readouterr().err
    assert not (tmp_path / "pic").exists() and not (tmp_path / "cfg").exists()
    assert main(["encode", clip, "-o", f"{tmp_path}/x.npy/", "--no-progress"]) == 0  # encode writes into it
    assert main(["encode", clip, "-o", f"{tmp_path}/y.npz/", "--no-progress"]) == 0
    assert (tmp_path / "x.npy" / "a.npy").is_file() and (tmp_path / "y.npz" / "a.npy").is_file()
    assert main(["encode", clip, "-o", f"{tmp_path}/z/", "--single", "--no-progress"]) == 2  # one archive
    assert "--single writes one .npz archive" in capsys.readouterr().err and not (tmp_path / "z.npz").exists()
    config = jaxspec.SpectrogramConfig()  # the library's writers too
    with pytest.raises(jaxspec.errors.ConfigError, match="out_path '.*/w/' names a folder"):
        jaxspec.encode_to_file(config, clip, f"{tmp_path}/w/")
    with pytest.raises(jaxspec.errors.ConfigError, match="path '.*/c/' names a folder"):
        config.save(f"{tmp_path}/c/")
    assert not (tmp_path / "w").exists() and not (tmp_path / "c").exists()


def test_a_name_that_is_not_utf8_and_a_literal_backslash_clash_only_in_an_archive(tmp_path, capsys):
    import os

    from jaxspec.cli.inputs import Input, collisions

    named = [Input("p", os.fsdecode(b"a\xff")), Input("q", "a\\xff")]  # both print as a\xff
    assert collisions(named) == [] and len(collisions(named, files=False)) == 1  # one key in an archive
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (b"a\xff.wav", b"a\\xff.wav"):
        soundfile.write(tmp_path / "t.wav", np.zeros(1600, np.float32), 16000)
        os.rename(tmp_path / "t.wav", os.path.join(os.fsencode(folder), name))
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    assert {b"a\xff.npy", b"a\\xff.npy"} <= set(os.listdir(os.fsencode(tmp_path / "out")))


def test_outputs_that_differ_only_in_case_clash_where_the_file_system_ignores_case(tmp_path, capsys, monkeypatch):
    # on macOS (APFS) and Windows, Intro.wav and intro.flac were both written to one intro.npy: the
    # other's features under its name, both in the manifest, exit 0 (the portability audit)
    from jaxspec.cli import inputs

    folder = tmp_path / "clips"
    folder.mkdir()
    soundfile.write(folder / "Intro.wav", np.zeros(1600, np.float32), 16000)
    soundfile.write(folder / "intro.flac", np.zeros(800, np.float32), 16000)
    assert not inputs.ignores_case(tmp_path / "out")  # this Linux file system tells case apart
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"Intro.npy", "intro.npy"}
    capsys.readouterr()
    monkeypatch.setattr(inputs, "ignores_case", lambda folder: True)  # as on a Mac
    assert main(["encode", str(folder), "-o", str(tmp_path / "mac"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "would both be written as" in err and "differ only in case or Unicode form" in err
    assert not (tmp_path / "mac").exists()
    assert main(["encode", str(folder), "-o", str(tmp_path / "one.npz"), "--single", "--no-progress"]) == 0  # keys
    assert main(["encode", str(folder), "-o", str(tmp_path / "two.npz"), "--no-progress"]) == 0  # an archive too
    named = [inputs.Input("p", "caf\u00e9"), inputs.Input("q", "cafe\u0301")]  # NFC and NFD: one name on APFS
    assert inputs.collisions(named) == [] and len(inputs.collisions(named, folded=True)) == 1


def test_info_says_1_sample(tmp_path, capsys):
    soundfile.write(tmp_path / "one.wav", np.zeros(1, np.float32), 16000)
    assert main(["info", str(tmp_path / "one.wav")]) == 0
    assert "= 1 sample at 16000 Hz" in capsys.readouterr().out


def test_long_panel_titles_stay_within_their_panel():
    # titles of SpecAugment + VTLP draws (~97 characters) ran into the next panel and under the colour bar
    pytest.importorskip("matplotlib", reason="pictures need the [cli] extra (matplotlib)")
    from jaxspec.plot import Panel, figure

    config = SpectrogramConfig()
    words = "augmented, key fold_in(key, 2): time masks at 12 and 40 frames, warp +3 frames, factor 1.08"
    panels = [Panel(f"{words} ({i})", np.zeros(16000, np.float32), np.ones((121, 201), np.float32)) for i in range(4)]
    fig = figure(panels, config)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    titled = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titled) == 4
    for ax in titled:
        right = ax._left_title.get_window_extent(renderer).x1
        assert right <= ax.get_window_extent(renderer).x1 + 2, ax.get_title(loc="left")


def test_library_helpers_leave_the_process_warning_filters_alone(tmp_path, monkeypatch):
    # warnings.catch_warnings swaps the process's filters: from several threads (the CLI's
    # --skip-existing check, plot's format list) one thread's restore left "ignore all"
    import warnings

    from jaxspec import outputs

    np.save(tmp_path / "a.npy", np.zeros((3, 4), np.float32))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "a.npy").read_bytes()[:-4])
    (tmp_path / "v2.npy").write_bytes(b"\x93NUMPY\x02\x00" + (118).to_bytes(4, "little") + b"{" + b" " * 117)

    def refuse(*args, **kwargs):
        raise AssertionError("catch_warnings")

    monkeypatch.setattr(warnings, "catch_warnings", refuse)
    assert outputs.whole_npy(tmp_path / "a.npy") and not outputs.whole_npy(tmp_path / "cut.npy")
    assert not outputs.whole_npy(tmp_path / "v2.npy")
    with open(tmp_path / "big.npy", "wb") as file:  # a version 2 header, written by NumPy
        np.lib.format.write_array(file, np.ones((2, 3), np.float64), version=(2, 0))
    assert outputs.whole_npy(tmp_path / "big.npy")
    if importlib.util.find_spec("matplotlib"):
        from jaxspec.plot import picture_formats

        assert "png" in picture_formats() and "pgf" not in picture_formats()


def test_the_command_line_imports_without_the_unix_only_open_flags():
    # Windows' os has no O_CLOEXEC / O_NONBLOCK / O_NOFOLLOW / O_DIRECTORY and no fcntl: the
    # manifest's lock flags, computed at import, stopped `jaxspec` and the Beam job there
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "for flag in ('O_CLOEXEC', 'O_NONBLOCK', 'O_NOFOLLOW', 'O_DIRECTORY', 'O_PATH'):\n"
        "    if hasattr(os, flag): delattr(os, flag)\n"
        "sys.modules['fcntl'] = None\n"
        "import jaxspec.cli, jaxspec.manifest, jaxspec.outputs\n"  # (the Beam job's modules need apache-beam)
        "print('imported')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-2000:]


def test_one_npy_output_draws_from_the_inputs_name_as_a_folder_output_does(tmp_path, capsys):
    # -o NAME.npy takes its key from the input's name (README): not recording it gave other draws
    # under another output name, and no test told (the mutation audit)
    clip = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    soundfile.write(tmp_path / "clip.wav", clip, 16000)
    flags = ["--volume", "0.25:4", "--key", "7", "--no-progress"]
    assert main(["encode", str(tmp_path / "clip.wav"), "-o", str(tmp_path / "folder"), *flags]) == 0
    assert main(["encode", str(tmp_path / "clip.wav"), "-o", str(tmp_path / "renamed.npy"), *flags]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "renamed.npy"), np.load(tmp_path / "folder" / "clip.npy"))


def test_the_picture_of_a_magnitude_spectrogram_is_in_the_same_decibels():
    # the colour scale took every spectrogram as a power spectrum: power=1 showed half its dB and
    # an 80 dB range of 160 (the mutation audit). Reference: 20 log10 |X| of NumPy's rfft
    pytest.importorskip("matplotlib", reason="pictures need the [cli] extra (matplotlib)")
    from jaxspec import plot

    x = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    images = {}
    for power in (1.0, 2.0):
        config = SpectrogramConfig(power=power)
        spec = np.asarray(jaxspec.spectrogram(config, x))
        figure = plot.figure([plot.Panel("tone", x, spec)], config)
        images[power] = next(a for a in figure.axes if a.images).images[0]
    peak = 20 * np.log10(np.abs(np.fft.rfft(x[:400] * np.hanning(401)[:400])).max())
    for image in images.values():
        assert abs(float(np.max(image.get_array())) - peak) < 1.0
    np.testing.assert_allclose(images[1.0].get_array(), images[2.0].get_array(), atol=1e-3)
    assert images[1.0].get_clim() == pytest.approx(images[2.0].get_clim(), abs=1e-3)


def test_integer_ranges_are_inclusive_and_reach_counts_the_negative_bound():
    from jaxspec import limits
    from jaxspec.cli.values import _int_value

    assert _int_value("0:27") == [0, 27] and _int_value("5") == 5  # LO:HI inclusive (README, SPEC)
    assert limits.param_reach(jaxspec.Uniform(-100.0, 1.0)) == 100.0  # the larger |bound|, either side
