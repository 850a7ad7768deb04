"""The ``jaxspec`` command end to end on a temporary folder, through ``main([...])``."""

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest
import soundfile
from conftest import child_env

import jaxspec
from jaxspec import Augmentation, Scaled, SpectrogramConfig, Uniform
from jaxspec.cli import main

RATE = 16000


def _tone(seconds, rate, freq, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.random.default_rng(freq).normal(size=t.size)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """in/ with a subfolder tree, three good files (WAV, stereo FLAC at 22.05 kHz), a corrupt one, a text file."""
    root = tmp_path_factory.mktemp("cli") / "in"
    (root / "x" / "y").mkdir(parents=True)
    soundfile.write(root / "x" / "a.wav", _tone(0.25, RATE, 440), RATE)
    soundfile.write(root / "x" / "y" / "b.flac", _tone(0.2, 22050, 1000, channels=2), 22050)
    soundfile.write(root / "c.wav", _tone(0.25, RATE, 2000), RATE, subtype="FLOAT")
    (root / "x" / "bad.wav").write_bytes(np.random.default_rng(0).bytes(2000))  # garbage named .wav
    (root / "notes.txt").write_text("not audio")
    return root


GOOD = {"x/a": "x/a.wav", "x/y/b": "x/y/b.flac", "c": "c.wav"}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_encode_folder_mirrors_layout_and_reports_the_corrupt_file(tree, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = _run(capsys, "encode", tree, "-o", out, "--no-progress")
    assert code == 1
    assert stdout.strip().splitlines()[-1].startswith("3 written, 1 failed")
    assert str(tree / "x" / "bad.wav") in stderr and "Format not recognised" in stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted([*(f"{name}.npy" for name in GOOD), ".jaxspec-manifest.jsonl"])
    config = SpectrogramConfig()
    for name, source in GOOD.items():
        expected = np.asarray(jaxspec.encode(config, str(tree / source)))
        np.testing.assert_array_equal(np.load(out / f"{name}.npy"), expected)


def test_encode_glob_names_are_relative_to_the_glob_base(tree, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, stderr = _run(capsys, "encode", f"{tree}/**/*.wav", "-o", out, "--no-progress")
    assert code == 1 and "bad.wav" in stderr  # the glob picks up the corrupt file too
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == ["c.npy", "x/a.npy"]
    np.testing.assert_array_equal(
        np.load(out / "c.npy"), np.asarray(jaxspec.encode(SpectrogramConfig(), str(tree / "c.wav")))
    )


def test_encode_files_and_missing_paths(tree, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = _run(capsys, "encode", tree / "c.wav", tree / "nothing.wav", "-o", out, "--no-progress")
    assert code == 1 and "nothing.wav: no such file or folder" in stderr
    assert (out / "c.npy").exists() and "1 written, 1 failed" in stdout
    code, stdout, _ = _run(capsys, "encode", tree / "c.wav", "-o", out, "--no-progress")
    assert code == 0 and "0 written, 0 failed, 1 up to date" in stdout  # SPEC 5: same input and config
    assert "files/s" not in stdout  # a rate of nothing written ("0.0 files/s", or 159 for a mistyped path)
    code, stdout, _ = _run(capsys, "encode", tree / "nothing.wav", "-o", out, "--no-progress")
    assert code == 1 and stdout.startswith("0 written, 1 failed") and "files/s" not in stdout
    code, stdout, _ = _run(capsys, "encode", tree / "c.wav", "-o", out, "--no-progress", "--overwrite")
    assert code == 0 and "1 written, 0 failed" in stdout


def test_encode_single_npz_with_config_flags(tree, tmp_path, capsys):
    out = tmp_path / "all"
    code, _, _ = _run(
        capsys,
        "encode",
        tree / "x" / "y",
        tree / "c.wav",
        "-o",
        out,
        "--single",
        "--no-progress",
        "--sample-rate",
        8000,
        "--window-size",
        "32ms",
        "--offset",
        64,
        "--power",
        1,
    )
    assert code == 0
    config = SpectrogramConfig(sample_rate=8000, window_size="32ms", offset=64, power=1.0)
    with np.load(tmp_path / "all.npz") as arrays:
        assert sorted(arrays) == ["b", "c"]
        for name, source in (("b", "x/y/b.flac"), ("c", "c.wav")):
            np.testing.assert_array_equal(arrays[name], np.asarray(jaxspec.encode(config, str(tree / source))))
        assert arrays["c"].shape == (math.ceil(0.25 * 8000 / 64), 256 // 2 + 1)


def test_encode_key_is_reproducible_and_follows_the_name_rule(tree, tmp_path, capsys):
    flags = ["--volume", "0.5:1.5", "--noise", "0.01", "--time-shift", "-0.05:0.05", "--no-progress"]
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        code, _, _ = _run(capsys, "encode", tree, "-o", tmp_path / name, "--key", seed, *flags)
        assert code == 1  # the corrupt file
        runs[name] = {n: np.load(tmp_path / name / f"{n}.npy") for n in GOOD}
    config = SpectrogramConfig(augmentation=Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.05, 0.05)))
    for name, source in GOOD.items():
        np.testing.assert_array_equal(runs["a"][name], runs["b"][name])
        assert not np.array_equal(runs["a"][name], runs["c"][name])
        h = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")  # SPEC 4's rule
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), h >> 32), h & 0xFFFFFFFF)
        expected = jaxspec.encode(config, str(tree / source), key=key)
        # SPEC 4: the same draws, outputs within float32 rounding (the CLI's packed program and
        # encode's own: 4.6e-6 apart on jax 0.7.1; a draw from another key is ~1e-1 off)
        np.testing.assert_allclose(runs["a"][name], np.asarray(expected), rtol=1e-5, atol=1e-12)
        assert not np.allclose(runs["a"][name], np.asarray(jaxspec.encode(config, str(tree / source))))


def test_encode_clashing_names_are_refused(tree, tmp_path, capsys):
    (tmp_path / "c.flac").write_bytes(b"")
    code, _, stderr = _run(capsys, "encode", tree / "c.wav", tmp_path / "c.flac", "-o", tmp_path / "out")
    assert code == 2 and "would both be written as 'c'" in stderr


def test_an_output_file_named_as_another_outputs_folder_is_a_clash(tree, tmp_path, capsys):
    # in/sub.wav -> sub.npy, in/sub.npy/a.wav -> sub.npy/a.npy: one of them failed on every run
    # ("a part of the folder path is a file"; an audit's finding); an archive has no folders
    (tmp_path / "in" / "sub.npy").mkdir(parents=True)
    for name in ("in/sub.wav", "in/sub.npy/a.wav", "in/b.wav"):
        shutil.copy(tree / "c.wav", tmp_path / name)
    code, _, stderr = _run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "out", "--no-progress")
    assert code == 2 and not (tmp_path / "out").exists()
    assert "sub.wav' would be written as the file 'sub.npy', which" in stderr and "a.wav' needs as a folder" in stderr
    code, _, _ = _run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "all.npz", "--single", "--no-progress")
    assert code == 0
    with np.load(tmp_path / "all.npz") as archive:
        assert sorted(archive.files) == ["b", "sub", "sub.npy/a"]


def test_encode_without_tqdm_has_no_bar(tree, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    code, stdout, stderr = _run(capsys, "encode", tree / "c.wav", "-o", tmp_path / "out")
    assert code == 0 and "1 written, 0 failed" in stdout and "file/s]" not in stderr


def test_encode_progress_bar_shows_files_per_second(tree, tmp_path, capsys):
    pytest.importorskip("tqdm", reason="the bar needs tqdm (pip install tqdm)")
    code, _, stderr = _run(capsys, "encode", tree / "c.wav", "-o", tmp_path / "out")
    assert code == 0 and "file/s]" in stderr


def test_info_prints_file_facts_and_the_output_shape(tree, capsys):
    code, stdout, stderr = _run(capsys, "info", tree / "x" / "y" / "b.flac", tree / "x" / "bad.wav", "--offset", 100)
    assert code == 1 and "bad.wav" in stderr
    frames = int(0.2 * 22050)
    resampled = math.ceil(frames * 16000 / 22050)
    assert f"{frames / 22050:.3f} s = {frames} samples at 22050 Hz" in stdout  # audio samples, not frames
    assert "channels  2" in stdout and "FLAC" in stdout and "PCM_16" in stdout
    assert f"({math.ceil(resampled / 100)}, 201)" in stdout


def test_plot_writes_a_png(tree, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="pictures need matplotlib (pip install matplotlib)")
    out = tmp_path / "pic.png"
    code, stdout, _ = _run(
        capsys, "plot", tree / "c.wav", "-o", out, "--volume", "0.5:1.5", "--augment", 1, "--dpi", 50
    )
    assert code == 0 and str(out) in stdout
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 150


def test_plot_augment_without_augmentation_is_a_clear_error(tree, tmp_path, capsys):
    code, _, stderr = _run(capsys, "plot", tree / "c.wav", "-o", tmp_path / "p.png", "--augment", 2)
    assert code == 2 and "--volume" in stderr and not (tmp_path / "p.png").exists()


def test_config_flags_set_every_field(capsys):
    code, stdout, _ = _run(
        capsys,
        "config",
        "--sample-rate",
        8000,
        "--window-size",
        "25ms",
        "--offset",
        "10ms",
        "--window-function",
        "hamming",
        "--normalization",
        "rms:0.1",
        "--target-length",
        "1s",
        "--power",
        1,
        "--fft-size",
        256,
        "--volume",
        "loguniform:0.5,2",
        "--noise",
        "normal:0.01,0.002",
        "--time-shift",
        "scaled:-0.1:0.1",
    )
    assert code == 0
    expected = SpectrogramConfig(
        sample_rate=8000,
        window_size="25ms",
        offset="10ms",
        window_function="hamming",
        normalization=("rms", 0.1),
        target_length="1s",
        power=1.0,
        fft_size=256,
        augmentation=Augmentation(
            volume=jaxspec.LogUniform(0.5, 2), noise=jaxspec.Normal(0.01, 0.002), time_shift=Scaled(Uniform(-0.1, 0.1))
        ),
    )
    assert json.loads(stdout) == expected.to_dict()
    assert SpectrogramConfig.from_dict(json.loads(stdout)) == expected


def test_config_file_then_flags_override_it(tree, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    cfg = tmp_path / "cfgs" / "cfg.json"
    code, _, _ = _run(
        capsys,
        "config",
        "--window-size",
        4,
        "--window-function",
        "0,0.5,1,0.5",
        "--offset",
        2,
        "--target-length",
        4,
        "--noise-file",
        "c.wav",
        "--noise",
        "0.1:0.2",
        "-o",
        cfg,
    )
    assert code == 0
    d = json.loads(cfg.read_text())
    assert d["window_function"] == [0.0, 0.5, 1.0, 0.5]
    assert d["augmentation"]["noise"] == {
        "amplitude": {"uniform": [0.1, 0.2]},
        "signal": os.path.relpath(tree / "c.wav", cfg.parent),
    }
    monkeypatch.chdir(tmp_path)  # the file's recording path is relative to the file, not to here
    code, stdout, _ = _run(capsys, "config", "--config", cfg, "--offset", "auto", "--noise", 0.5)
    again = json.loads(stdout)
    assert again["offset"] is None and again["window_size"] == 4 and again["target_length"] == 4
    assert again["augmentation"]["noise"]["amplitude"] == 0.5
    assert os.path.samefile(again["augmentation"]["noise"]["signal"], tree / "c.wav")
    code, stdout, _ = _run(capsys, "config", "--config", cfg, "--no-augmentation")
    assert json.loads(stdout)["augmentation"] is None
    # encode reads the file (4 frames), flags override it (256-sample Hann window: 129 bins).
    code, _, _ = _run(
        capsys,
        "encode",
        tree / "c.wav",
        "-o",
        "out",
        "--config",
        cfg,
        "--window-size",
        256,
        "--window-function",
        "hann",
        "--no-progress",
    )
    config = SpectrogramConfig(window_size=256, offset=2, target_length=4)
    assert code == 0
    np.testing.assert_array_equal(np.load("out/c.npy"), np.asarray(jaxspec.encode(config, str(tree / "c.wav"))))


def test_bare_rms_and_power_none_are_the_config_s_values(tmp_path, capsys):
    # the config takes normalization="rms" (level 1) and power=None (the complex STFT)
    assert main(["config", "--normalization", "rms", "--power", "none", "-o", str(tmp_path / "c.json")]) == 0
    assert SpectrogramConfig.load(tmp_path / "c.json") == SpectrogramConfig(normalization="rms", power=None)


def test_info_names_the_complex_dtype_of_power_none(capsys):
    assert main(["info", jaxspec.example_path(), "--power", "none"]) == 0
    assert "output    complex64 (" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["config", "--normalization", "rms:loud"], "write max, max:LEVEL"),
        (["config", "--normalization", "rms:"], "write max, max:LEVEL"),  # (was level 1; an audit)
        (["config", "--power", "nothing"], "--power"),
        (["config", "--volume", "loud"], "is not a parameter"),
        (["plot", jaxspec.example_path(), "-o", "x.unknownext"], "'x.unknownext': .unknownext is not a picture format"),
        (["config", "--offset", "-3"], "offset=-3"),
        (["config", "--mix", "0.5"], '"mix": 0.5}; give --convolution-file'),
        (["config", "--config", "/nonexistent/cfg.json"], "cfg.json"),
        (["encode", "x.wav", "-o", "out", "--workers", "10000"], "give 1 to 64 decoding threads"),
        (["encode", "x.wav", "-o", "out", "--workers", "0"], "give 1 to 64 decoding threads"),
        (["encode", "x.wav", "-o", "out", "--windowsize", "10"], "did you mean --window-size?"),
        (["info", "x.wav", "--ofset=3"], "jaxspec info: error: unrecognized arguments: --ofset=3"),
    ],
)
def test_bad_flags_are_clear_errors(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "encode", "plot", "info", "config"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0 and "--sample-rate" in capsys.readouterr().out


def test_module_help_runs_in_a_subprocess():
    env = child_env()
    result = subprocess.run(
        [sys.executable, "-m", "jaxspec.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0
    for command in ("demo", "encode", "plot", "info", "config"):
        assert command in result.stdout


def test_encode_streams_long_files_straight_to_npy(tmp_path, monkeypatch, capsys):
    import importlib

    planner = importlib.import_module("jaxspec.planner")
    monkeypatch.setattr(planner, "STREAM_THRESHOLD_SAMPLES", 20000)  # the 1.5 s file counts as long
    streamed = []
    pipeline = importlib.import_module("jaxspec.cli.pipeline")
    real = pipeline.encode_to_file
    monkeypatch.setattr(pipeline, "encode_to_file", lambda *a, **k: streamed.append(a[1]) or real(*a, **k))
    rng = np.random.default_rng(3)
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "long.wav", (0.1 * rng.standard_normal((33075, 2))).astype(np.float32), 22050)
    soundfile.write(folder / "short.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    assert [os.path.basename(p) for p in streamed] == ["long.wav"]
    config = jaxspec.SpectrogramConfig()
    for name in ("long", "short"):
        out = np.load(tmp_path / "out" / f"{name}.npy")
        expected = np.asarray(jaxspec.encode(config, str(folder / f"{name}.wav"), stream=False))
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6 * float(expected.max()))
    assert "2 written, 0 failed" in capsys.readouterr().out


def test_cli_lines_are_written_in_one_piece(monkeypatch):
    # an error (main thread) and a warning (a worker thread) once ran together on one line:
    # print writes the text and the newline apart
    from jaxspec.cli.pipeline import say

    writes = []

    class Recorder:
        def write(self, text):
            writes.append(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", Recorder())
    say("error: a.wav: no such file")
    assert [w for w in writes if w] == ["error: a.wav: no such file\n"]


def test_encode_into_an_existing_file_is_a_usage_error(tmp_path, capsys):
    # it said "the manifest 'afile/.jaxspec-manifest.jsonl' cannot be read: Not a directory"
    clip = tmp_path / "a.wav"
    soundfile.write(clip, np.zeros(1600, np.float32), 16000)
    (tmp_path / "afile").write_text("keep me")
    code = main(["encode", str(clip), str(clip), "-o", str(tmp_path / "afile"), "--no-progress"])
    assert code == 2 and "is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "afile").read_text() == "keep me"


def test_demo_and_info_warn_that_they_draw_no_augmentation(tmp_path, capsys):
    # their --help lists the augmentation flags, which they took silently
    clip = tmp_path / "a.wav"
    soundfile.write(clip, np.zeros(1600, np.float32), 16000)
    assert main(["info", str(clip), "--volume", "0.5"]) == 0
    assert "info draws no augmentation" in capsys.readouterr().err
    assert main(["info", str(clip)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_jaxspec_traceback_zero_is_off(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JAXSPEC_TRACEBACK", "0")  # "1" shows a traceback; "0" printed one too
    assert main(["info", str(tmp_path / "none.wav"), "--window-size", "0"]) == 2
    assert "window_size=0" in capsys.readouterr().err


# ------------------------------------------------------------------ found by the audit of 2026-12-02 (hostile inputs)
GLOB_PATTERNS = [
    "**/*.wav",
    "*/*.wav",
    "**",
    "x/**",
    "x/**/",
    "*",
    "x/*/b.*",
    "**/y/*.flac",
    "[cx]*",
    "x/.*",
    "./*.wav",
]


@pytest.mark.parametrize("pattern", GLOB_PATTERNS)
def test_globs_match_the_standard_glob_on_a_tree_without_links(tree, pattern, tmp_path, monkeypatch):
    """The CLI expands globs itself (so that ``**`` skips links to folders); without links it
    matches ``glob.glob(recursive=True)`` path for path."""
    import glob
    import shutil

    from jaxspec.cli.inputs import _glob

    root = tmp_path / "in"
    shutil.copytree(tree, root)
    (root / "x" / ".hidden.wav").touch()  # wildcards skip hidden names, as glob's do
    monkeypatch.chdir(root)
    expected = sorted({os.path.normpath(path) for path in glob.glob(pattern, recursive=True)})
    assert sorted(os.path.normpath(path) for path in _glob(pattern, [])) == expected


def test_a_recursive_glob_does_not_follow_folder_links_that_loop(tmp_path):
    """Two links back into the tree made ``glob.glob('in/**/*.wav', recursive=True)`` list about
    2**40 paths: ``encode``, ``info`` and Beam hung there. ``**`` now skips links to folders, as
    a folder given as a folder does."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    soundfile.write(root / "sub" / "ok.wav", _tone(0.1, RATE, 440), RATE)
    (root / "sub" / "loop").symlink_to(root)
    (root / "sub" / "up").symlink_to("..")
    script = (
        "import sys; from jaxspec.cli.inputs import find_inputs; "
        "inputs, problems = find_inputs([sys.argv[1]]); print([i.name for i in inputs], problems)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, f"{root}/**/*.wav"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['sub/ok'] []"


def test_a_trailing_double_star_does_not_walk_links_to_folders(tmp_path):
    """``'in/**'`` matched a link to a folder and then walked it (a link to ``/``: ``info``
    walked the whole file system), though ``**`` does not follow links to folders."""
    from jaxspec.cli.inputs import find_inputs

    root, outside = tmp_path / "in", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    for path in (root / "a.wav", root / "sub" / "b.wav", outside / "c.wav"):
        soundfile.write(path, _tone(0.1, RATE, 440), RATE)
    (root / "linked").symlink_to(outside)
    (root / "sub" / "c.wav").symlink_to(outside / "c.wav")  # a link to a file is an input, as in a folder
    inputs, problems = find_inputs([f"{root}/**"])
    assert sorted(item.name for item in inputs) == ["a", "sub/b", "sub/c"] and problems == []


def test_a_wildcard_that_matches_a_link_to_a_folder_does_not_walk_it(tmp_path):
    """``'in/*'`` matched ``current -> .`` and walked it: ``speakers/a.wav`` became the input
    ``current/speakers/a`` (its draws under --key changed with the name) and a shard glob
    encoded the linked folder's files a second time, under the link's name."""
    from jaxspec.cli.inputs import find_inputs

    root = tmp_path / "in"
    (root / "speakers").mkdir(parents=True)
    soundfile.write(root / "speakers" / "a.wav", _tone(0.1, RATE, 440), RATE)
    (root / "current").symlink_to(".")
    (root / "aliased").symlink_to("speakers")
    for pattern in (f"{root}/*", f"{root}/[a-z]*"):
        inputs, problems = find_inputs([pattern])
        assert [item.name for item in inputs] == ["speakers/a"] and problems == []
    # a wildcard in a middle part (it named the file current/speakers/a), and no wildcard at all
    assert [item.name for item in find_inputs([f"{root}/*/*"])[0]] == ["speakers/a"]
    assert [item.name for item in find_inputs([f"{root}/c*/speakers"])[0]] == []
    assert [item.name for item in find_inputs([str(root / "aliased")])[0]] == ["a"]  # named: walked
    assert [item.name for item in find_inputs([f"{tmp_path}/*/aliased"])[0]] == ["in/aliased/a"]  # a literal part too


def _past_path_max(root: os.PathLike) -> None:
    """A chain of folders below ``root`` whose path is longer than ``PATH_MAX`` (4096 bytes on
    Linux), made through folder descriptors, with a file at the bottom."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 * 201 bytes
            os.mkdir("d" * 200, dir_fd=fd)
            fd, old = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
        os.close(os.open("deep.wav", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)


@pytest.mark.skipif(sys.platform != "linux", reason="PATH_MAX is Linux's")
def test_folders_that_cannot_be_read_are_reported(tmp_path, capsys):
    """A folder below an input folder that cannot be listed (a path past PATH_MAX here; no
    permission for a user) was skipped silently: its files were neither encoded nor failed,
    and exit was 0. Each is now an error line naming it, and the run exits 1."""
    from jaxspec.cli.inputs import find_inputs

    root = tmp_path / "in"
    root.mkdir()
    soundfile.write(root / "a.wav", _tone(0.1, RATE, 440), RATE)
    _past_path_max(root)
    for pattern in (str(root), f"{root}/**/*.wav"):
        inputs, problems = find_inputs([pattern])
        assert [item.name for item in inputs] == ["a"]
        assert len(problems) == 1 and "cannot read the folder: File name too long" in problems[0][1], problems
        assert problems[0][0].startswith(f"{root}/ddd")  # the folder, not the pattern
    code, _, err = _run(capsys, "encode", root, "-o", tmp_path / "out", "--no-progress")
    assert code == 1 and "cannot read the folder" in err and (tmp_path / "out" / "a.npy").is_file()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_a_folder_without_permission_is_reported(tmp_path):
    from jaxspec.cli.inputs import find_inputs

    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "locked").chmod(0)
    try:
        inputs, problems = find_inputs([str(tmp_path / "in")])
    finally:
        (tmp_path / "in" / "locked").chmod(0o755)
    assert inputs == [] and problems == [(str(tmp_path / "in" / "locked"), "cannot read the folder: Permission denied")]


def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked_and_encoded(tmp_path, capsys):
    """A 1900-level tree (3.8 kB of path, under PATH_MAX) stopped ``encode``, ``info`` and
    ``**`` globs with a RecursionError (Python 3.11's ``os.walk`` recurses), and nothing was
    encoded. Its file is past libsndfile's 1024-byte name limit too ("Supplied filename too long")."""
    root = tmp_path / "in"
    try:
        _encode_a_deep_tree(capsys, root, tmp_path / "out")
    finally:  # pytest's and shutil's rmtree recurse as well
        for tree in (root, tmp_path / "out"):
            _remove_without_recursion(tree)


def _remove_without_recursion(root: os.PathLike) -> None:
    folders, stack = [], [os.fspath(root)] if os.path.isdir(root) else []
    while stack:
        folders.append(stack.pop())
        for entry in os.scandir(folders[-1]):
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                os.unlink(entry.path)
    for folder in reversed(folders):
        os.rmdir(folder)


def _encode_a_deep_tree(capsys, root, out):
    from jaxspec.cli.inputs import find_inputs
    from jaxspec.io import audio_info

    deep = root
    for _ in range(1200):  # not mkdir(parents=True): it recurses too
        deep = deep / "d"
        deep.mkdir(parents=deep.parent == root)
    tone = _tone(0.1, RATE, 440)
    soundfile.write(root / "a.wav", tone, RATE)
    (deep / "deep.wav").write_bytes((root / "a.wav").read_bytes())  # soundfile cannot write at that name
    deep_name = "/".join(["d"] * 1200) + "/deep"
    for pattern in (str(root), f"{root}/**/*.wav"):
        inputs, problems = find_inputs([pattern])
        assert [item.name for item in inputs] == ["a", deep_name] and problems == []
    code, stdout, err = _run(capsys, "encode", root, "-o", out, "--no-progress")
    assert code == 0 and stdout.startswith("2 written, 0 failed"), err
    expected = np.asarray(jaxspec.encode(SpectrogramConfig(), root / "a.wav"))
    np.testing.assert_array_equal(np.load(out / (deep_name + ".npy")), expected)
    decoded = jaxspec.load_audio(deep / "deep.wav").samples  # by the name libsndfile refuses
    assert audio_info(deep / "deep.wav").frames == decoded.shape[0] == tone.shape[0]
    code, stdout, _ = _run(capsys, "info", root)
    assert code == 0 and stdout.count("deep.wav") == 1
    # opened by its own name in its folder: libsndfile reads a headerless .au by its extension
    (deep / "raw.au").write_bytes(bytes(range(256)) * 4)
    assert audio_info(deep / "raw.au").frames == 1024
    (deep / "bad.wav").write_bytes(b"garbage" * 10)
    with pytest.raises(jaxspec.AudioFileError) as caught:
        audio_info(deep / "bad.wav")
    assert str(caught.value).endswith("/bad.wav': Format not recognised.") and "/proc/" not in str(caught.value)


def test_long_inputs_are_drawn_pooled_to_the_pictures_width(monkeypatch):
    """A 10-minute file was drawn point by point: 10 s and 1.7 GB (now 4 s, 0.5 GB)."""
    from jaxspec import plot  # matplotlib is in the [test] extra, as for the other plot tests

    a = np.random.default_rng(0).uniform(0.0, 1.0, (10001, 7))
    group = math.ceil(10001 / 4096)
    reference = np.stack([a[i : i + group].mean(axis=0) for i in range(0, 10001, group)])
    np.testing.assert_allclose(plot.pooled(a), reference, rtol=1e-12)
    assert plot.pooled(a[:4096]) is not None and plot.pooled(a[:4096]).shape == (4096, 7)  # short: as it is

    monkeypatch.setattr(plot, "MAX_COLUMNS", 64)
    config = SpectrogramConfig()
    x = np.random.default_rng(1).standard_normal(133 * 1000).astype(np.float32) * 0.1
    spec = np.asarray(jaxspec.spectrogram(config, x))
    fig = plot.figure([plot.Panel("long", x, spec)], config)
    wave_ax, spec_ax = fig.axes[0], fig.axes[1]
    image = spec_ax.get_images()[0]
    assert image.get_array().shape == (201, 63)  # [bins, columns]: pooled by groups of 16 frames
    assert image.get_extent()[1] == pytest.approx(1000 * 133 / 16000)  # the whole duration
    assert not wave_ax.get_lines() and wave_ax.collections  # an envelope, not 133000 points
    expected = 10 * np.log10(plot.pooled(spec, 64))
    np.testing.assert_allclose(np.asarray(image.get_array()).T, expected, rtol=1e-6)


def test_the_public_plot_helpers_refuse_what_they_cannot_draw():
    """pooled(a, -3) returned an empty array, pooled(a, 0) a ZeroDivisionError, "median" a
    KeyError; panels_for read a [2, L] batch as a 2-sample signal (an audit)."""
    from jaxspec import plot

    a = np.arange(10.0)
    for columns, reduce, message in [
        (0, "mean", "columns=0 must be a positive int"),
        (-3, "mean", "columns=-3 must be"),
        (2.5, "mean", "columns=2.5 must be"),
        (True, "mean", "columns=True must be"),
        (4, "median", "reduce='median' must be 'mean', 'max' or 'min'"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            plot.pooled(a, columns, reduce)
    np.testing.assert_array_equal(plot.pooled(a, np.int64(4)), [1.0, 4.0, 7.0, 9.0])  # a NumPy int is an int
    config = SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    with pytest.raises(jaxspec.InputError, match=r"x has shape \(2, 1600\); panels_for takes one signal \[L\]"):
        plot.panels_for(config, np.zeros((2, 1600), np.float32))
    with pytest.raises(jaxspec.InputError, match="augment_count=-1 must be an int >= 0"):
        plot.panels_for(config, np.zeros(1600, np.float32), augment_count=-1)
    assert len(plot.panels_for(config, np.zeros(1600, np.float32), augment_count=np.int64(1))) == 2
    with pytest.raises(jaxspec.InputError, match=r"panels=\[\] is empty"):  # matplotlib's "Number of rows"
        plot.figure([], config)


def test_an_output_link_is_written_through_and_device_paths_are_refused(tmp_path, capsys):
    # the rename replaced the link itself; as root, -o /dev/stdout turned the system's link into a file
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "real" / "cfg.json")
    assert _run(capsys, "config", "--offset", "10ms", "-o", link)[0] == 0
    assert link.is_symlink() and SpectrogramConfig.load(tmp_path / "real" / "cfg.json").offset == "10ms"
    code, _, err = _run(capsys, "config", "-o", "/proc/self/fd/1")
    assert code == 2 and "is a device or a process's file" in err


def test_two_links_to_one_file_are_two_inputs(tmp_path, capsys):
    # inputs were deduplicated by the file a link names: b.wav -> a.wav (a Hugging Face snapshot
    # links equal files to one blob) was never written, with "1 written" and exit 0
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "a.wav", np.full(800, 0.1, np.float32), 16000)
    (folder / "b.wav").symlink_to("a.wav")
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, "encode", folder, folder / "a.wav", folder / "b.wav", "-o", out, "--no-progress")
    assert code == 0 and stdout.startswith("2 written")
    assert sorted(p.name for p in out.glob("*.npy")) == ["a.npy", "b.npy"]
    code, stdout, _ = _run(capsys, "info", folder)
    assert code == 0 and "b.wav" in stdout


def test_only_config_suggests_dash_for_stdout(tmp_path, capsys, monkeypatch):
    # "(- for stdout)" was said by plot and encode too, where -o - writes a file or folder named '-'
    monkeypatch.chdir(tmp_path)
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(800, np.float32), 16000)
    code, _, err = _run(capsys, "plot", wav, "-o", "/dev/stdout")
    assert code == 2 and "is a device or a process's file" in err and "- for stdout" not in err
    code, _, err = _run(capsys, "encode", wav, "-o", "/dev/x.npy", "--no-progress")
    assert code == 1 and "is a device or a process's file" in err and "- for" not in err
    code, _, err = _run(capsys, "config", "-o", "/dev/stdout")
    assert code == 2 and "(-o - prints it)" in err


def test_a_config_is_never_written_over_a_file_that_is_not_json(tmp_path, capsys, monkeypatch):
    # ``jaxspec config -o a.wav`` replaced the audio with JSON ("wrote a.wav", exit 0)
    monkeypatch.chdir(tmp_path)
    soundfile.write(tmp_path / "a.wav", _tone(0.25, RATE, 440), RATE)
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY")
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")  # starts as a JSON array would
    (tmp_path / "list.json").write_text("[1, 2]")  # JSON, but not a config
    before = {name: (tmp_path / name).read_bytes() for name in ("a.wav", "x.npy", "setup.cfg", "list.json")}
    for name in before:
        code, _, err = _run(capsys, "config", "--offset", "10ms", "-o", name)
        assert code == 2 and f"-o {name!r} is an existing file that does not hold a JSON object" in err
        with pytest.raises(jaxspec.InputError, match=f"path {name!r} is an existing file that does not hold a JSON"):
            SpectrogramConfig().save(name)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    (tmp_path / "empty.cfg").touch()
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + SpectrogramConfig().to_json().encode())  # loadable
    for name in ("c.json", "c.json", "empty.cfg", "bom.json"):  # new, saved again, an empty file, with a BOM
        assert _run(capsys, "config", "--offset", "10ms", "-o", name)[0] == 0
        assert SpectrogramConfig.load(name) == SpectrogramConfig(offset="10ms")


def test_an_output_never_replaces_an_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wave = _tone(0.25, RATE, 440)
    for name in ("rec.wav", "rec.png", "r2.npy"):
        soundfile.write(tmp_path / name, wave, RATE, format="WAV")
    before = {name: (tmp_path / name).read_bytes() for name in ("rec.wav", "rec.png", "r2.npy")}
    code, _, err = _run(capsys, "config", "--noise-file", "rec.wav", "-o", "rec.wav")
    assert code == 2 and "is the recording '" in err and "rec.wav' itself" in err
    code, _, err = _run(capsys, "plot", "rec.png")  # a WAV named .png: the picture's default name
    assert code == 2 and "is the input 'rec.png' itself" in err
    code, _, err = _run(capsys, "encode", "r2.npy", "-o", "r2.npy", "--no-progress")
    assert code == 1 and "its output is the input 'r2.npy' itself" in err
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_an_output_never_replaces_a_recording_of_the_config_or_other_data_at_the_manifest(
    tmp_path, capsys, monkeypatch
):
    """Only `config -o` refused to write over the config's noise or impulse recording: `plot`,
    `demo` and `encode` (a folder's item, `-o NAME.npy`, `--single`) drew or wrote over it, and
    the manifest replaced whatever file had its name (an input named take.npy.manifest.jsonl).
    Found by an audit; each is now refused before anything is written."""
    monkeypatch.chdir(tmp_path)
    wave = _tone(0.25, RATE, 440)
    names = ("clip.wav", "n.png", "room.npy", "a.npz", "out/clip.npy", "take.npy.manifest.jsonl")
    (tmp_path / "out").mkdir()
    for name in names:
        soundfile.write(tmp_path / name, wave, RATE, format="WAV")
    before = {name: (tmp_path / name).read_bytes() for name in names}
    noisy = ("--noise", "0.1", "--key", "0")
    for argv, code, message in [
        (
            ("plot", "clip.wav", "-o", "n.png", "--noise-file", "n.png", "--augment", "1", *noisy),
            2,
            "-o 'n.png' is the recording '",
        ),
        (("demo", "clip.wav", "-o", "n.png", "--convolution-file", "n.png"), 2, "-o 'n.png' is the recording '"),
        (
            ("encode", "clip.wav", "-o", "room.npy", "--convolution-file", "room.npy", "--key", "0"),
            1,
            "its output is the recording '",
        ),
        (
            ("encode", "clip.wav", "-o", "out", "--noise-file", "out/clip.npy", *noisy),
            1,
            "its output is the recording '",
        ),
        (
            ("encode", "clip.wav", "-o", "a.npz", "--single", "--noise-file", "a.npz", *noisy),
            2,
            "-o 'a.npz' is the recording '",
        ),
        (("encode", "take.npy.manifest.jsonl", "-o", "take.npy"), 2, "holds other data (not jaxspec's JSON lines)"),
    ]:
        got, _, err = _run(capsys, *argv, *(("--no-progress",) if argv[0] == "encode" else ()))
        assert got == code and message in err, (argv, got, err)
    assert {name: (tmp_path / name).read_bytes() for name in names} == before
    assert not (tmp_path / "take.npy").exists()


def test_config_paths_stay_lexical_through_linked_folders(tmp_path):
    # a linked data folder stays in the path (it may point elsewhere on another machine), and a
    # config written into a linked folder loads by the path it was written to (configs written
    # by earlier versions too); resolving the links broke both (an audit's regression check)
    proj, data = tmp_path / "proj", tmp_path / "mnt" / "data"
    data.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    proj.mkdir()
    (proj / "data").symlink_to(data)
    (proj / "out").symlink_to(tmp_path / "elsewhere")
    soundfile.write(data / "noise.wav", _tone(0.5, RATE, 300), RATE)
    config = SpectrogramConfig(augmentation=Augmentation(noise=jaxspec.Noise(0.1, str(proj / "data" / "noise.wav"))))
    config.save(proj / "c.json")
    assert json.loads((proj / "c.json").read_text())["augmentation"]["noise"]["signal"] == "data/noise.wav"
    config.save(proj / "out" / "c.json")
    assert os.path.samefile(
        SpectrogramConfig.load(proj / "out" / "c.json").augmentation.noise.source, data / "noise.wav"
    )


def test_names_print_as_ls_b_shows_them(tmp_path, capsys):
    # a backslash is escaped (a file named 'a\xff' printed as the byte 0xff), and an OS error's
    # path shows a byte that is not UTF-8 as \xNN, not repr's \udcNN
    from jaxspec._files import printable

    assert printable("a\\xff") == "a\\\\xff" and printable("a\udcff") == "a\\xff"
    code, _, err = _run(capsys, "plot", str(tmp_path / "nope\udcff.wav"))
    assert code == 2 and "nope\\xff.wav" in err and "udcff" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["config", "-o", ""], "an empty path"),
        (["encode", "x.wav", "-o", ""], "an empty path"),
        (["info", ""], "an empty path"),
        (["encode", "x.wav", "-o", "out", "--workers", "many"], "'many' is not a whole number"),
        (["config", "--time-warp", "x"], "must be an integer"),
    ],
)
def test_empty_paths_and_words_for_numbers_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2 and message in capsys.readouterr().err


def _closing(stream: int, *argv: str) -> subprocess.CompletedProcess:
    """``python -m jaxspec ARGV`` with standard stream 1 or 2 closed by the shell (``>&-``): no
    preexec_fn, whose fork in a JAX process may deadlock."""
    script = f'exec "$0" -m jaxspec "$@" {stream}>&-'
    return subprocess.run(["sh", "-c", script, sys.executable, *argv], capture_output=True, text=True, timeout=120)


def test_a_closed_stdout_is_a_named_error():
    # sys.stdout is None when the shell closed it (>&-): config printed an AttributeError
    # 'please report it'; its output is stdout, so it refuses
    done = _closing(1, "config", "--offset", "10ms")
    assert done.returncode == 2 and "standard output is closed; give -o FILE" in done.stderr, done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full: every write fails with ENOSPC")
def test_a_full_stdout_fails_the_run_but_keeps_its_outputs(tmp_path):
    # > /dev/full (or a full disk under > FILE): a usage error, exit 2, "[Errno 28] No space
    # left on device", though every output had been written; now exit 1, naming stdout
    soundfile.write(tmp_path / "a.wav", _tone(0.1, RATE, 440), RATE)
    for argv in (["encode", "a.wav", "-o", "out", "--no-progress"], ["info", "a.wav"], ["config"]):
        done = subprocess.run(
            ["sh", "-c", '"$0" -m jaxspec "$@" > /dev/full', sys.executable, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert done.returncode == 1, done
        assert done.stderr == f"jaxspec {argv[0]}: error: cannot write to stdout: No space left on device\n"
    assert np.load(tmp_path / "out" / "a.npy").shape == (13, 201)


def test_dev_shm_is_a_place_for_files():
    # only names in /dev itself and in /proc are refused, not the tmpfs under /dev/shm (decided
    # on the path, so this holds on a machine without /dev/shm too)
    from pathlib import Path

    from jaxspec._atomic import _writable

    assert _writable(Path("/dev/shm/jaxspec-test/c.json"), through_links=True) == Path("/dev/shm/jaxspec-test/c.json")
    for refused in ("/dev/stdout", "/dev/null", "/proc/self/fd/1"):
        with pytest.raises(OSError, match="is a device or a process's file"):
            _writable(Path(refused), through_links=False)


def test_a_recording_link_keeps_its_name_and_a_linked_config_its_real_folder(tmp_path, capsys):
    # git-annex-like: data/noise.wav -> ../.annex/x.wav was saved as the object's path; and a
    # config written through a link into another folder had its paths relative to the link's
    (tmp_path / ".annex").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "real").mkdir()
    soundfile.write(tmp_path / ".annex" / "x.wav", _tone(0.5, RATE, 300), RATE)
    (tmp_path / "data" / "noise.wav").symlink_to("../.annex/x.wav")
    code = _run(capsys, "config", "--noise-file", tmp_path / "data" / "noise.wav", "-o", tmp_path / "data" / "c.json")
    assert (
        code[0] == 0
        and json.loads((tmp_path / "data" / "c.json").read_text())["augmentation"]["noise"]["signal"] == "noise.wav"
    )
    (tmp_path / "link.json").symlink_to(tmp_path / "real" / "c.json")
    assert _run(capsys, "config", "--noise-file", tmp_path / "data" / "noise.wav", "-o", tmp_path / "link.json")[0] == 0
    for path in (tmp_path / "real" / "c.json", tmp_path / "link.json"):  # the real file, and through its link
        assert os.path.samefile(SpectrogramConfig.load(path).augmentation.noise.source, tmp_path / "data" / "noise.wav")


@pytest.mark.parametrize(
    "argv, closed, code", [(["config", "-o", "{tmp}/c.json"], 1, 0), (["plot", "{tmp}/nope.wav"], 2, 2)]
)
def test_a_closed_stream_drops_reports_but_not_the_exit_code(tmp_path, argv, closed, code):
    # reports to a closed stream are dropped: the command's own result and exit code stand
    done = _closing(closed, *(a.format(tmp=tmp_path) for a in argv))
    assert done.returncode == code, done


def test_a_kaldi_dither_is_drawn_with_a_key_by_the_cli_and_is_never_streamed(tmp_path, monkeypatch, capsys):
    # --key with a dither config warned "no effect" and wrote the keyless output; streaming (a long
    # file, or stream=True) dropped the dither of a keyed encode
    import importlib

    from jaxspec.corpus import file_key

    config = jaxspec.presets.kaldi_fbank(dither=1.0)
    config.save(tmp_path / "dither.json")
    folder = tmp_path / "in"
    folder.mkdir()
    wave = _tone(0.5, RATE, 440).astype(np.float32)
    soundfile.write(folder / "a.wav", wave, RATE, subtype="FLOAT")
    args = ["encode", str(folder), "--config", str(tmp_path / "dither.json"), "--no-progress"]
    assert main([*args, "-o", str(tmp_path / "keyed"), "--key", "7"]) == 0
    assert "has no effect" not in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "plain")]) == 0
    assert "the dither is not applied without --key" in capsys.readouterr().err
    keyed, plain = np.load(tmp_path / "keyed" / "a.npy"), np.load(tmp_path / "plain" / "a.npy")
    expected = jaxspec.encode(config, str(folder / "a.wav"), key=file_key(7, "a"))
    np.testing.assert_allclose(keyed, expected, rtol=1e-5, atol=1e-4)
    assert np.abs(keyed - plain).max() > 1e-3  # the dither is there
    with pytest.raises(jaxspec.InputError, match="stream=True cannot apply augmentation or dither"):
        jaxspec.encode(config, str(folder / "a.wav"), key=jax.random.key(0), stream=True)
    planner = importlib.import_module("jaxspec.planner")
    monkeypatch.setattr(planner, "STREAM_THRESHOLD_SAMPLES", 1000)  # the file counts as long: not streamed with a key
    key = jax.random.key(3)
    auto = jaxspec.encode(config, str(folder / "a.wav"), key=key)
    np.testing.assert_array_equal(auto, jaxspec.encode(config, wave, sample_rate=RATE, key=key))


def test_demo_and_errors_name_features_and_channels_as_they_are(tmp_path, capsys, monkeypatch):
    """demo labelled an MFCC's 13 coefficients "bins"; [1, n] "looked like 1 channels first"
    (found by a new-user audit)."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--preset", "librosa_mfcc"]) == 0
    out = capsys.readouterr().out
    assert "= (frames, features)" in out and "(frames, bins)" not in out
    with pytest.raises(jaxspec.InputError, match=r"looks like 1 channel first \("):
        jaxspec.encode(SpectrogramConfig(), np.zeros((1, 16000), np.float32), sample_rate=16000)


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--normalization", "rsm"], "write none, max, max:LEVEL, rms or rms:LEVEL"),  # was "('rsm', 1.0) ... tuples"
        (["--normalization", "max:inf"], "LEVEL in (0, 10000]"),  # was "('max', inf)" (a review)
        (["--normalization", "rms:0"], "LEVEL in (0, 10000]"),
        (["--window-function", "hannn"], "is not a window: write one of hann,"),  # was "a callable n -> array[n]"
        (["--time-mask", "0:100"], "2,0:100,fill=mean (time)"),  # gave the frequency policy only
        (["--vtlp", "0.9:1.1"], "--preset kaldi_fbank"),  # named Python only
    ],
)
def test_flag_errors_speak_in_flags(tmp_path, capsys, flags, fragment):
    """Found by a new-user audit: CLI errors written in Python terms."""
    clip = tmp_path / "a.wav"
    soundfile.write(clip, np.zeros(1600, np.float32), 16000)
    with pytest.raises(SystemExit) if flags[0] != "--vtlp" else contextlib.nullcontext():
        assert main(["info", str(clip), *flags]) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    "header",
    [b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,, }", b"(" * 300],  # NumPy's TokenError
)
def test_skip_existing_takes_an_output_with_an_unreadable_header_as_cut(tmp_path, capsys, header):
    """A header NumPy's tokenizer chokes on escaped whole_npy: 'unexpected error', nothing encoded
    (found by a review)."""
    clip = tmp_path / "in" / "a.wav"
    clip.parent.mkdir()
    soundfile.write(clip, np.zeros(1600, np.float32), 16000)
    out = tmp_path / "out"
    (out / "a.npy").parent.mkdir()
    padded = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    (out / "a.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + b"\0" * 8)
    code, stdout, _ = _run(capsys, "encode", clip.parent, "-o", out, "--no-progress", "--skip-existing")
    assert code == 0 and stdout.startswith("1 written")
    assert np.load(out / "a.npy").shape == jaxspec.encode(SpectrogramConfig(), str(clip)).shape


def test_a_folder_skips_macos_appledouble_files_only(tmp_path):
    """``._a.wav`` files (macOS metadata, copied beside each file) failed every run as
    "Format not recognised"; other hidden files in a folder are encoded, as documented."""
    from jaxspec.cli.inputs import find_inputs

    (tmp_path / ".hid").mkdir()
    for name in ("a.wav", ".b.wav", ".hid/c.wav"):
        soundfile.write(tmp_path / name, np.zeros(800, np.float32), RATE)
    (tmp_path / "._a.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    inputs, problems = find_inputs([str(tmp_path)])
    assert sorted(item.name for item in inputs) == [".b", ".hid/c", "a"] and problems == []
