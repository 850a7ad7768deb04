"""The Beam corpus job (``python -m jaxspec.beam``) on the DirectRunner."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile

import jaxspec
from jaxspec.cli import main as cli_main
from jaxspec.corpus import file_key

beam_module = pytest.importorskip("jaxspec.beam", reason="the [beam] extra (apache-beam) is not installed")
MANIFEST = ".jaxspec-manifest.jsonl"
FLAGS = ["--volume", "0.5:1.5", "--noise", "0.01", "--time-shift", "-0.05:0.05"]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, n in enumerate([9000, 9400, 12000, 17000, 30000, 4000]):
        soundfile.write(
            folder / ("sub" if i % 2 else "") / f"c{i}.wav", (rng.standard_normal(n) * 0.1).astype(np.float32), 16000
        )
    (folder / "broken.wav").write_bytes(b"RIFF....not audio")
    return folder


def _rows(out):
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    return lines[0], {row["name"]: row for row in lines if "status" in row}  # this run's rows


def _records(out):
    """The manifest as ``jaxspec encode`` reads it: the latest record per name."""
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    settings = {line["setting"] for line in lines if "config" in line}
    records = {line["name"]: line for line in lines if "name" in line and "setting" in line}
    assert all(record["setting"] in settings for record in records.values())
    return records


def test_beam_job_writes_what_the_cli_writes(corpus, tmp_path, capsys):
    out_beam, out_cli = tmp_path / "beam", tmp_path / "cli"
    code = beam_module.main(["--input", str(corpus), "--output", str(out_beam), "--key", "7", *FLAGS])
    assert code == 1  # the broken file
    assert cli_main(["encode", str(corpus), "-o", str(out_cli), "--key", "7", "--no-progress", *FLAGS]) == 1
    header, rows = _rows(out_beam)
    assert "key_rule" in header and "config" in header
    assert rows["broken"]["status"] == "failed" and "broken.wav" in rows["broken"]["path"] and rows["broken"]["error"]
    config = jaxspec.SpectrogramConfig(
        augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01, time_shift=(-0.05, 0.05))
    )
    for name in ("c0", "sub/c1", "c2", "sub/c3", "c4", "sub/c5"):
        row = rows[name]
        assert row["status"] == "written" and row["error"] is None and row["seconds"] >= 0
        written = np.load(out_beam / f"{name}.npy")
        assert list(written.shape) == row["shape"]
        np.testing.assert_array_equal(written, np.load(out_cli / f"{name}.npy"))  # the same programs
        alone = jaxspec.encode(config, str(corpus / f"{name}.wav"), key=file_key(7, name))
        np.testing.assert_allclose(written, np.asarray(alone), rtol=1e-5, atol=1e-6 * float(np.max(alone)))


def test_beam_rerun_skips_up_to_date_outputs_and_remakes_the_rest(corpus, tmp_path):
    out = tmp_path / "out"
    args = ["--input", str(corpus / "*.wav"), "--output", str(out)]
    beam_module.main(args)
    first = np.load(out / "c0.npy")
    soundfile.write(corpus / "c2.wav", np.zeros(5000, np.float32), 16000)  # a changed input
    beam_module.main(args)
    _, rows = _rows(out)
    assert rows["c0"]["status"] == "skipped" and rows["c2"]["status"] == "written"
    np.testing.assert_array_equal(np.load(out / "c0.npy"), first)
    assert np.load(out / "c2.npy").shape[0] == jaxspec.SpectrogramConfig().num_frames(5000)
    beam_module.main([*args, "--offset", "160"])  # another config: everything is remade
    _, rows = _rows(out)
    assert all(row["status"] in ("written", "failed") for row in rows.values())
    assert not list(out.glob("**/*.part"))


def test_beam_keeps_the_records_of_outputs_of_other_inputs(corpus, tmp_path):
    out = tmp_path / "out"
    beam_module.main(["--input", str(corpus / "*.wav"), "--output", str(out)])
    assert set(_records(out)) == {"c0", "c2", "c4"}  # broken.wav failed: no record
    beam_module.main(["--input", str(corpus / "sub"), "--output", str(out), "--offset", "160"])  # c1, c3, c5
    records = _records(out)
    assert set(records) == {"c0", "c2", "c4", "c1", "c3", "c5"}
    assert records["c0"]["setting"] != records["c1"]["setting"]  # both settings kept
    beam_module.main(["--input", str(corpus / "*.wav"), "--output", str(out)])
    _, rows = _rows(out)
    assert {name: row["status"] for name, row in rows.items() if name != "broken"} == dict.fromkeys(
        ("c0", "c2", "c4"), "skipped"
    )
    assert set(_records(out)) == {"c0", "c2", "c4", "c1", "c3", "c5"}


def test_beam_removes_what_a_killed_run_left(corpus, tmp_path):
    import subprocess
    import sys

    from jaxspec import _atomic

    out = tmp_path / "out"
    out.mkdir()
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    stale = out / f".c0.npy.{gone}-{_atomic._host()}-abcd0123.part"  # a worker killed mid-write
    stale.write_bytes(b"\x93NUMPY partial")
    # rows files: a job's killed before its merge, a running job's, a near name (31 hex digits)
    orphan, fresh, other = (out / f"{MANIFEST}.{i:0{n}x}" for i, n in ((1, 32), (2, 32), (3, 31)))
    for rows_file in (orphan, fresh, other):
        rows_file.write_text('{"name": "c0", "status": "written"}\n')
        if rows_file is not fresh:
            os.utime(rows_file, (os.stat(rows_file).st_atime, os.stat(rows_file).st_mtime - 7200))
    beam_module.main(["--input", str(corpus / "*.wav"), "--output", str(out)])
    assert not stale.exists() and not list(out.glob("**/*.part")) and (out / "c0.npy").is_file()
    assert not orphan.exists() and fresh.exists() and other.exists()


def test_beam_module_runs_with_worker_processes(corpus, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    command = [sys.executable, "-m", "jaxspec.beam", "--input", str(corpus / "*.wav"), "--output", str(out)]
    command += ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing", "--key", "1", *FLAGS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]  # the broken file only
    assert "3 written, 0 skipped, 1 failed" in done.stdout
    in_process = tmp_path / "in_process"
    beam_module.main(["--input", str(corpus / "*.wav"), "--output", str(in_process), "--key", "1", *FLAGS])
    for name in ("c0", "c2", "c4"):
        np.testing.assert_array_equal(np.load(out / f"{name}.npy"), np.load(in_process / f"{name}.npy"))


def test_beam_refuses_a_name_clash_as_the_cli_does(tmp_path, capsys):
    # a.wav and a.flac are both "a": the job wrote one, reported "2 written" and exited 0
    folder = tmp_path / "x"
    folder.mkdir()
    soundfile.write(folder / "a.wav", np.zeros(1600, np.float32), 16000)
    soundfile.write(folder / "a.flac", np.zeros(3200, np.float32), 16000)
    assert beam_module.main(["--input", str(folder), "--output", str(tmp_path / "out")]) == 2
    assert "would both be written as 'a'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a.npy").exists()
    with pytest.raises(jaxspec.InputError, match="would both be written as 'a'"):
        beam_module.encode_corpus(None, jaxspec.SpectrogramConfig(), [("p/a.wav", "a"), ("q/a.wav", "a")], "o")


def test_beam_streams_long_files_as_the_cli_does(corpus, tmp_path, monkeypatch):
    # the job decoded every file whole (a 10-minute 44.1 kHz stereo file: 600 MB); files the
    # planner streams are now streamed into their outputs, which equal the CLI's
    from jaxspec import planner

    streamed = []
    real = beam_module.encode_to_file
    monkeypatch.setattr(planner, "STREAM_THRESHOLD_SAMPLES", 10_000)  # c2 (12000) .. c4 (30000) are "long"
    monkeypatch.setattr(beam_module, "encode_to_file", lambda *a, **k: streamed.append(a[1]) or real(*a, **k))
    assert beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "beam")]) == 1  # broken.wav
    assert sorted(p.rsplit("/", 1)[-1] for p in streamed) == ["c2.wav", "c3.wav", "c4.wav"]
    assert cli_main(["encode", str(corpus), "-o", str(tmp_path / "cli"), "--no-progress"]) == 1
    for npy in (tmp_path / "cli").rglob("*.npy"):
        np.testing.assert_array_equal(np.load(tmp_path / "beam" / npy.relative_to(tmp_path / "cli")), np.load(npy))
    _, rows = _rows(tmp_path / "beam")
    assert rows["c4"]["shape"] == list(np.load(tmp_path / "beam" / "c4.npy").shape)


def test_beam_usage_errors_are_messages_as_in_the_cli(corpus, tmp_path, capsys):
    """A bad flag was a traceback and exit 1; an input that names nothing counts as failed."""
    assert beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "o"), "--volume", "2:1"]) == 2
    err = capsys.readouterr().err
    assert "--volume" in err and "Traceback" not in err
    code = beam_module.main(["--input", str(tmp_path / "nothing"), "--output", str(tmp_path / "o2")])
    assert code == 1 and "1 failed" in capsys.readouterr().out


_KILLED_JOB = """
import os, signal, sys
from jaxspec import beam
real, count = beam.write_npy, [0]
def write_npy(target, array):
    count[0] += 1
    if count[0] == 4:  # the fourth output: the job is killed outright before writing it
        os.kill(os.getpid(), signal.SIGKILL)
    return real(target, array)
beam.write_npy = write_npy
sys.exit(beam.main(sys.argv[1:]))
"""


def test_a_killed_jobs_rerun_skips_what_it_finished_and_removes_its_temp_folder(corpus, tmp_path):
    """The manifest was written only at the job's end: after a kill, every output was made
    again, and WriteToText's empty beam-temp folder stayed in the output folder for good."""
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    args = ["--input", str(corpus), "--output", str(out), "--key", "3", *FLAGS]
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # a killed run leaves Beam's beam-pipeline-temp folder behind
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_JOB, *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    finished = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy"))
    assert len(finished) == 3 and set(_records(out)) == {name[: -len(".npy")] for name in finished}
    (out / f"beam-temp-{MANIFEST}-0123456789abcdef0123456789abcdef").mkdir(exist_ok=True)  # as a kill leaves it
    done = subprocess.run([sys.executable, "-m", "jaxspec.beam", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]  # the broken file
    assert "3 written, 3 skipped, 1 failed" in done.stdout
    assert not list(out.glob("beam-temp-*"))
    _, rows = _rows(out)
    assert {name for name, row in rows.items() if row["status"] == "skipped"} == set(_records(out)) - {
        name for name, row in rows.items() if row["status"] == "written"
    }


@pytest.mark.parametrize(
    "config, seed, fragment",
    [
        (None, None, "NoneType"),
        (jaxspec.SpectrogramConfig(), 1.7, "seed=1.7"),
        (jaxspec.SpectrogramConfig(), 2**64, "seed="),
    ],
)
def test_the_job_checks_its_config_and_seed_before_it_runs(tmp_path, config, seed, fragment):
    # 2**64 killed the whole job at run time; 1.7 was recorded as key(1.7) and used as key(1)
    with pytest.raises(jaxspec.ConfigError, match=fragment):
        beam_module.encode_corpus(None, config, [], str(tmp_path), seed=seed)


@pytest.mark.parametrize("flag", [["--window-sise", "25ms"], ["--normalisation=rms"], ["stray.wav"]])
def test_beam_refuses_flags_that_neither_it_nor_beam_knows(corpus, tmp_path, capsys, flag):
    """Beam dropped them with a warning: a mistyped flag ran the job with the default config, exit 0
    (and a path after --output was not encoded)."""
    with pytest.raises(SystemExit) as stopped:
        beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "o"), *flag])
    assert stopped.value.code == 2 and flag[0].split("=")[0] in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_beam_output_problems_are_usage_errors(corpus, tmp_path, capsys, monkeypatch):
    """An --output that is a file, or a folder in the manifest's place, were tracebacks and exit 1.
    Each also left an empty beam-pipeline-temp folder in /tmp: Beam makes it with the Pipeline and
    removes it in run() only."""
    import tempfile

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "file").write_text("")
    (tmp_path / "o" / MANIFEST).mkdir(parents=True)
    for out in (tmp_path / "file", tmp_path / "o"):
        assert beam_module.main(["--input", str(corpus), "--output", str(out)]) == 2
        err = capsys.readouterr().err
        assert "error:" in err and str(out) in err and "Traceback" not in err
        assert "Errno" not in err  # the file case said only "[Errno 17] File exists"
    assert not any((tmp_path / "o").glob("*.npy")) and list((tmp_path / "tmp").iterdir()) == []


def test_a_key_without_augmentation_is_no_key_as_in_the_cli(corpus, tmp_path, capsys):
    """Beam recorded the seed's key rule and did not stream: the CLI's rerun remade every output."""
    out = tmp_path / "o"
    assert beam_module.main(["--input", str(corpus / "*.wav"), "--output", str(out), "--key", "3"]) == 1
    assert "--key has no effect" in capsys.readouterr().err
    assert _rows(out)[0]["key_rule"] == jaxspec.outputs.key_rule(None)
    assert cli_main(["encode", str(corpus / "*.wav"), "-o", str(out), "--key", "3", "--no-progress"]) == 1
    assert "0 written, 1 failed, 3 up to date" in capsys.readouterr().out


def test_beam_removes_the_stale_output_of_an_input_that_now_fails(corpus, tmp_path):
    """The CLI removes it; the job kept it, unrecorded, beside the fresh outputs, run after run."""
    out = tmp_path / "o"
    args = ["--input", str(corpus / "*.wav"), "--output", str(out)]
    assert beam_module.main(args) == 1
    (corpus / "c2.wav").write_bytes(b"RIFF....not audio any more")
    (out / "mine.npy").write_bytes(b"a file of the user's")
    assert beam_module.main(args) == 1
    assert not (out / "c2.npy").exists() and (out / "c0.npy").exists() and (out / "mine.npy").exists()


@pytest.mark.parametrize("raised", [KeyboardInterrupt(), RuntimeError("KeyboardInterrupt [while running 'Write']")])
def test_an_interrupted_job_exits_130_without_a_traceback(corpus, tmp_path, capsys, monkeypatch, caplog, raised):
    """Ctrl-C printed Beam's traceback and exited 1, which also means "some items failed"; then
    Beam's own log of the stopped step and its traceback came before the summary (an audit)."""
    import logging
    import tempfile

    import apache_beam

    steps = logging.getLogger("apache_beam.runners.common")

    def interrupted(self):
        stopped = (KeyboardInterrupt, KeyboardInterrupt(), None)
        steps.error("KeyboardInterrupt [while running 'Write']", exc_info=stopped)
        steps.error("a step failed", exc_info=(ValueError, ValueError("bad"), None))  # not an interrupt: logged
        raise raised

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # run() removes Beam's temp folder; not this one

    monkeypatch.setattr(apache_beam.Pipeline, "run", interrupted)
    try:  # one let through would stop the whole pytest session, not fail this test
        code = beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "o")])
    except KeyboardInterrupt:
        pytest.fail("main let KeyboardInterrupt through")
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert [record.getMessage() for record in caplog.records if record.name == steps.name] == ["a step failed"]
    assert not steps.filters  # removed once the job ends
    monkeypatch.setattr(apache_beam.Pipeline, "run", lambda self: (_ for _ in ()).throw(RuntimeError("other")))
    assert beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "o")]) == 1  # not an interrupt
    assert "error: other (the outputs written are whole; JAXSPEC_TRACEBACK=1 shows where)" in capsys.readouterr().err
    monkeypatch.setenv("JAXSPEC_TRACEBACK", "1")  # as for jaxspec encode: Beam's error raised as it is
    with pytest.raises(RuntimeError, match="^other$"):
        beam_module.main(["--input", str(corpus), "--output", str(tmp_path / "o")])


def test_a_file_replaced_while_the_job_reads_it_is_encoded_again_by_the_next_run(tmp_path):
    """The record took the file's size and time after it was written: a file replaced
    between its decoding and its write looked up to date to every later run, which then
    kept the output of the old samples (found by an audit)."""
    from jaxspec.manifest import MANIFEST_NAME, Manifest, Source

    config, path, out = jaxspec.SpectrogramConfig(), tmp_path / "a.wav", tmp_path / "o"
    soundfile.write(path, np.zeros(16000, np.float32), 16000)
    manifest = Manifest(out / MANIFEST_NAME, config.to_dict(), beam_module.key_rule(None))
    item = next(beam_module.ReadAudio(config).process(beam_module.Item("a", str(path))))
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    soundfile.write(path, noise, 16000)  # the same size, a later time
    encoder = beam_module.EncodeBatches(config)
    encoder.start_bundle()
    encoded = [*encoder.process(item), *(value.value for value in encoder.finish_bundle())]
    writer = beam_module.WriteFeatures(str(out), manifest.setting, config, manifest.header)
    writer.setup()
    assert next(writer.process(encoded[0]))["status"] == "written"
    assert np.load(out / "a.npy").max() == 0.0  # made from the samples it read
    rerun = Manifest(out / MANIFEST_NAME, config.to_dict(), beam_module.key_rule(None))
    assert not rerun.up_to_date("a", out / "a.npy", Source.of(str(path)))


def test_a_file_name_that_is_not_utf8_is_encoded_and_recorded_as_the_cli_does(tmp_path):
    # Beam's default coder encoded the row's surrogate-escaped name as strict UTF-8 and
    # aborted the job (ok.wav unwritten); the rerun's kept rows went through it too
    folder = tmp_path / "x"
    folder.mkdir()
    soundfile.write(folder / "ok.wav", np.zeros(1600, np.float32), 16000)
    soundfile.write(folder / "tmp.wav", np.full(1600, 0.1, np.float32), 16000)
    os.rename(os.fsencode(folder / "tmp.wav"), os.fsencode(folder) + b"/bad\xff.wav")
    out = tmp_path / "out"
    for status in ("written", "skipped"):
        assert beam_module.main(["--input", str(folder), "--output", str(out)]) == 0
        _, rows = _rows(out)
        assert {name: row["status"] for name, row in rows.items()} == {"ok": status, "bad\udcff": status}
    assert cli_main(["encode", str(folder), "-o", str(tmp_path / "cli"), "--no-progress"]) == 0
    expected = np.load(os.fsencode(tmp_path / "cli") + b"/bad\xff.npy")
    np.testing.assert_array_equal(np.load(os.fsencode(out) + b"/bad\xff.npy"), expected)


def test_records_another_run_adds_while_the_job_runs_are_kept(corpus, tmp_path, capsys):
    """The job's last step replaced the manifest with the records it had read when the job was
    built: a concurrent run's records were lost (its outputs then made again, as if from other
    inputs) and two jobs raced in Beam's own delete of the old manifest (found by an audit)."""
    import apache_beam as beam

    out, config = tmp_path / "o", jaxspec.SpectrogramConfig()
    inputs = [(str(corpus / f"c{i}.wav"), f"c{i}") for i in (0, 2, 4)]
    pipeline = beam.Pipeline(runner="FnApiRunner")
    beam_module.encode_corpus(pipeline, config, inputs, str(out))
    assert cli_main(["encode", str(corpus / "sub/c1.wav"), "-o", str(out), "--no-progress"]) == 0  # meanwhile
    pipeline.run().wait_until_finish()
    assert sorted(_records(out)) == ["c0", "c1", "c2", "c4"]
    assert not [path.name for path in out.iterdir() if path.name.startswith(MANIFEST + ".")]  # the rows file
    capsys.readouterr()
    assert (
        cli_main(["encode", str(corpus / "c0.wav"), str(corpus / "sub/c1.wav"), "-o", str(out), "--no-progress"]) == 0
    )
    assert "0 written, 0 failed, 2 up to date" in capsys.readouterr().out


def test_a_manifest_unreadable_at_the_merge_is_left_as_it_is_with_the_jobs_rows(tmp_path, monkeypatch):
    # read leniently, an unreadable manifest counted as empty: the rewrite dropped every
    # other run's record (root reads any file here, so the refusal is simulated)
    from jaxspec import manifest as manifests

    out = tmp_path / "o"
    out.mkdir()
    (out / MANIFEST).write_text('{"name": "other", "setting": "s"}\n')
    rows_file = out / f"{MANIFEST}.0123"
    rows_file.write_text('{"name": "mine", "setting": "t", "status": "written"}\n')
    header = {"setting": "t", "config": {}, "key_rule": "none"}
    real = manifests._regular

    def refused(path, flags):
        if flags == os.O_RDONLY:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags)

    monkeypatch.setattr(manifests, "_regular", refused)
    with pytest.raises(PermissionError):
        manifests.replace_with_rows(rows_file, header, {"mine"})
    assert (out / MANIFEST).read_text() == '{"name": "other", "setting": "s"}\n' and rows_file.exists()
    monkeypatch.setattr(manifests, "_regular", real)
    manifests.replace_with_rows(rows_file, header, {"mine"})
    assert [json.loads(line)["setting"] for line in (out / MANIFEST).read_text().splitlines()] == ["t", "s", "t"]
    assert not rows_file.exists()


def test_a_manifest_unreadable_at_the_merge_is_a_message_not_a_traceback(corpus, tmp_path, capsys, monkeypatch):
    def refused(rows_file, header, names):  # (root reads any file here: the refusal is simulated)
        raise PermissionError(13, "Permission denied", str(rows_file.parent / MANIFEST))

    monkeypatch.setattr(beam_module, "replace_with_rows", refused)
    out = tmp_path / "o"
    assert beam_module.main(["--input", str(corpus / "c0.wav"), "--output", str(out)]) == 1  # was a traceback
    err = capsys.readouterr().err
    assert "python -m jaxspec.beam: error: " in err and "Permission denied" in err and "Traceback" not in err
    assert "c0" in _records(out)  # recorded as written: a rerun skips it


def test_the_summary_never_blocks_on_a_manifest_replaced_by_a_fifo(tmp_path):
    from jaxspec import manifest as manifests

    os.mkfifo(tmp_path / MANIFEST)  # the summary's plain open() waited for a writer forever
    with pytest.raises(OSError, match="not a regular file"):
        manifests.job_rows(tmp_path / MANIFEST)


def test_an_output_that_is_an_input_or_a_recording_fails_that_item_and_keeps_the_file(corpus, tmp_path, capsys):
    """The job wrote an item's .npy over whatever file had its name: an input named .npy in the
    output folder, or the config's noise recording there (jaxspec encode refuses both for that
    item; an audit found the CLI's recording case, and the job had neither)."""
    out = tmp_path / "o"
    out.mkdir()
    (corpus / "c0.wav").rename(out / "c0.npy")  # an input (a WAV named .npy) in the output folder
    soundfile.write(out / "c1.npy", np.full(800, 0.1, np.float32), 16000, format="WAV")  # the recording
    before = {name: (out / name).read_bytes() for name in ("c0.npy", "c1.npy")}
    args = ["--input", str(corpus / "sub" / "c1.wav"), str(out / "c0.npy"), "--output", str(out), "--key", "1"]
    assert beam_module.main([*args, "--noise", "0.1", "--noise-file", str(out / "c1.npy")]) == 1
    err = capsys.readouterr().err
    assert "its output is the input '" in err and "its output is the recording '" in err
    assert {name: (out / name).read_bytes() for name in before} == before
