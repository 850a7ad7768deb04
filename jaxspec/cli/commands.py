"""The subcommands of ``jaxspec``: encode, demo, plot, info, config."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import _declared, _serialize, outputs
from .. import manifest as manifests
from .._atomic import SPECIAL_NAME, sweep_folders
from .._files import destroyable, printable, refuse_overwriting, warn_if_truncated
from ..augmentation.recordings import file_stamps
from ..corpus import file_keys
from ..encoding import encode
from ..errors import InputError
from ..framing import uses_key
from ..io import audio_info, example_path
from ..planner import COUNTED_WHEN_EXACT, plan_file
from ..spectrum import output_dtype
from .flags import config_from_args
from .inputs import Input, encode_output, find_inputs, picture_output, refuse_collisions
from .pipeline import FILE_ERRORS, Interrupted, Long, encode_files, failure_reason, progress_bar, say, stream_file
from .signals import signals_held, signals_ignored

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
"""Exit codes; 130 = Ctrl-C (SIGINT): the run stops after a summary line, the outputs written so far complete."""


def _sweep(folders: list[Path]) -> None:
    """Removes what killed runs left in the folders about to be written (``sweep_stale``), and says so."""
    removed = sweep_folders(folders)
    if removed:
        note = f"note: removed {removed} temporary file(s) (.*.part) that an interrupted run left behind"
        print(note, file=sys.stderr)


def _output_error(error: BaseException, target: Path) -> str:
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"cannot write {str(target)!r}: {reason}"


def run_encode(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    inputs, problems = find_inputs(args.paths)
    out, folder = encode_output(args.output, args.single)  # "-o x.npy/": a folder named x.npy
    manifest_path, shown = None, out
    key_names: dict[str, str] = {}  # an output name -> the input's name, which its key is made from
    # one input -> that very file; a folder of that name stays one (as for .npz)
    if out.suffix == ".npy" and not args.single and not (folder or out.is_dir()):
        if len(inputs) > 1 or not (inputs or problems):  # none found: each problem is reported below (exit 1)
            print(
                f"error: -o {str(out)!r} names one .npy file but {len(inputs)} inputs were given; "
                "give an output folder",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if inputs:
            key_names[out.stem] = inputs[0].name  # the same draws as in a folder: not the output's name
            inputs = [Input(inputs[0].path, out.stem)]
        manifest_path = out.with_name(out.name + ".manifest.jsonl")
        out = out.parent  # the summary still names the file
    if out.suffix == ".npz" and not args.single and not (folder or out.is_dir()):  # a folder of that name stays one
        print(f"note: -o {printable(str(out))} names an .npz archive: writing one (as --single)", file=sys.stderr)
        args.single = True
    if refuse_collisions(inputs, out, files=not args.single):  # an archive's keys are not folders (-o x.npz too)
        return EXIT_USAGE
    if args.single and out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    if manifest_path is None and not args.single and out.exists() and not out.is_dir():
        print(f"error: -o {str(out)!r} is a file, not a folder; give a folder for the outputs", file=sys.stderr)
        return EXIT_USAGE
    stamps = file_stamps(config)  # the recordings: no output may replace them; recorded with a key
    if args.single:
        refuse_overwriting(out, [item.path for item in inputs], name="-o", recordings=stamps)
    kept, targets, ids = [], {}, destroyable([item.path for item in inputs], stamps)
    for item in inputs:
        try:  # its name, and the links of folders already in -o
            targets[item.name] = outputs.target_path(out, item.name)
            refused = outputs.refused_output(targets[item.name], ids)  # an audio file named .npy in -o
            if refused:
                raise ValueError(refused)
            kept.append(item)
        except ValueError as error:
            problems.append((item.path, str(error)))
    inputs = kept
    for pattern, reason in problems:
        print(f"error: {printable(pattern)}: {reason}", file=sys.stderr)
    if args.key is not None and not uses_key(config):
        print("warning: --key has no effect: the config has no augmentation and no dither", file=sys.stderr)
    if args.key is None and uses_key(config):
        what = "augmentation" if config.augmentation is not None else "dither"
        print(
            f"warning: the {what} is not applied without --key SEED (no key = evaluation: no {what})",
            file=sys.stderr,
        )
    seed = args.key if uses_key(config) else None
    if manifest_path is None:
        manifest_path = out.with_name(out.name + ".manifest.jsonl") if args.single else out / manifests.MANIFEST_NAME
    try:
        rule, recordings = outputs.key_rule(seed), None if seed is None else stamps  # recorded only with a key
        manifest = manifests.Manifest(manifest_path, config.to_dict(), rule, recordings)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    sources = {item.name: manifests.Source.of(item.path) for item in inputs}
    if args.single:
        _sweep([out.parent])  # the archive's folder, where its manifest lies too
        return _encode_single(args, config, inputs, problems, out, seed, manifest, sources)

    todo, skipped, replacing, current = [], 0, 0, set()
    if seed is None:  # no key: the name draws nothing
        key_names = {}
    for item in inputs:
        target, key_name = targets[item.name], key_names.get(item.name)
        if args.overwrite:
            todo.append(item)
            if manifest.up_to_date(item.name, target, sources[item.name], key_name):
                current.add(item.name)  # kept if its new encoding or write fails (_after_failure)
        elif args.skip_existing and os.path.isfile(target) and outputs.whole_npy(target):  # not one a power cut cut
            skipped += 1
        elif manifest.up_to_date(item.name, target, sources[item.name], key_name):
            skipped += 1
        else:
            todo.append(item)
            replacing += os.path.isfile(target)  # Path.is_file raised EACCES / ENAMETOOLONG: exit 2 (the write says it)
    _sweep([manifest_path.parent, *(target.parent for target in targets.values())])
    if replacing:
        why = (
            "are not whole .npy files (their size is not what their header says: a crash or power cut)"
            if args.skip_existing
            else "were made from another input, config or key rule, are not in its manifest, or were changed or "
            "copied since (times not kept)"
        )
        also = "" if args.skip_existing else "; --skip-existing keeps them"
        print(f"note: {replacing} existing output(s) in {str(out)!r} {why} and will be replaced{also}", file=sys.stderr)
    keys = None if seed is None else file_keys(seed, [key_names.get(item.name, item.name) for item in todo])
    start = time.perf_counter()
    bar = progress_bar(len(todo), args.progress, "encode")
    written, failed, interrupted = 0, len(problems), False
    results = encode_files(config, todo, keys, args.workers)
    try:
        for item, result in results:
            target = targets[item.name]
            if isinstance(result, Long):
                result = stream_file(config, result.path, target)
                if isinstance(result, OSError) and getattr(result, "filename", None) is not None:
                    result = OSError(_output_error(result, target))
            stopping = isinstance(result, Interrupted)
            result = result.stamp if stopping else result
            if isinstance(result, BaseException):
                failed += 1
                kept = _after_failure(manifest, current, item.name, target)
                say(f"error: {printable(item.path)}: {failure_reason(result, item.path)}{kept}")
            else:
                with signals_held():  # an output renamed into place is recorded and counted
                    try:
                        # a streamed result is in the target already: its stamp
                        made = result if isinstance(result, tuple) else outputs.write_npy(target, result)
                    except (OSError, ValueError) as error:  # the write left the target as it was
                        failed += 1
                        kept = _after_failure(manifest, current, item.name, target)
                        say(f"error: {printable(item.path)}: {_output_error(error, target)}{kept}")
                    else:
                        try:
                            manifest.add(item.name, sources[item.name], made, target, key_names.get(item.name))
                            written += 1
                        except OSError as error:  # the output is complete: kept, and made again next run
                            manifest.forget(item.name)  # the record is of the output this one replaced
                            failed += 1
                            reason = error.strerror or str(error)
                            record = f"its record in {str(manifest.path)!r} cannot be written"
                            say(f"error: {printable(item.path)}: {record}: {reason}")
                if stopping:  # the signal that came after its rename, now that it is recorded
                    raise KeyboardInterrupt
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        with signals_ignored():
            _wind_down(results, bar, manifest)
        raise
    with signals_ignored():  # the decoders stop, the manifest is compacted, the summary said
        _wind_down(results, bar, manifest)
        given, seconds = len(todo) + len(problems), time.perf_counter() - start
        return _summary(written, failed, skipped, given, seconds, shown, interrupted, args.overwrite)


def _after_failure(manifest: Any, current: set[str], name: str, target: Path) -> str:
    """After input ``name`` failed: an output up to date (in ``current``: ``--overwrite``) is kept with its
    record (a full disk deleted it); any other is stale and goes. Returns what the error line adds."""
    if name in current:
        return " (its existing output, up to date, is kept)"
    manifest.discard(name, target)
    return ""


def _wind_down(results: Any, bar: Any, manifest: Any) -> None:
    results.close()
    bar.close()
    manifest.compact()


def _summary(
    written: int, failed: int, skipped: int, todo: int, seconds: float, out: Path, interrupted: bool, redo: bool = False
) -> int:
    """The closing line and exit status; ``todo`` counts the inputs to encode and the problems found
    before (a path naming nothing, a refused output), which ``failed`` counts too."""
    # the rate of the files written: failures include paths that named nothing (159 "files/s" for a typo)
    rate = f" ({written / seconds:.1f} files/s)" if written and seconds > 0 else ""
    line = f"{written} written, {failed} failed, {skipped} up to date in {seconds:.1f} s{rate} -> {printable(out)}"
    if interrupted:
        left = max(todo - written - failed, 0)
        # redo (--overwrite): a rerun cannot resume it, it skips or redoes every earlier output
        how = "they keep their earlier outputs; rerun with --overwrite to encode every file again" if redo else ""
        print(f"interrupted: {line}; {left} not done ({how or 'rerun the same command to resume'})")
        return EXIT_INTERRUPTED
    print(line)
    return EXIT_FAILED if failed else EXIT_OK


def _encode_single(args, config, inputs, problems, out: Path, seed, manifest, sources) -> int:
    """``--single``: every spectrogram in one archive, written atomically once all are done."""
    stale = sum(not manifest.up_to_date(item.name, out, sources[item.name]) for item in inputs)
    if inputs and not stale and set(manifest.records) == {item.name for item in inputs} and not args.overwrite:
        return _summary(0, len(problems), len(inputs), 0, 0.0, out, False)
    if stale < len(inputs) and not args.overwrite:  # an archive is written whole: say why it is made again
        why = f"{stale} input(s) have no up-to-date entry in it (new, changed, or failed last time)"
        why = why if stale else "it holds entries of inputs not given now"
        print(f"note: {str(out)!r} is written anew: {why}", file=sys.stderr)
    keys = None if seed is None else file_keys(seed, [item.name for item in inputs])
    start = time.perf_counter()
    bar = progress_bar(len(inputs), args.progress, "encode")
    failed, arrays, interrupted = len(problems), {}, False
    results = encode_files(config, inputs, keys, args.workers)
    try:
        for item, result in results:
            if isinstance(result, Long):
                result = stream_file(config, result.path, None)
            if isinstance(result, BaseException):
                failed += 1
                say(f"error: {printable(item.path)}: {failure_reason(result, item.path)}")
            else:
                arrays[item.name] = result
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with signals_ignored():
            results.close()
            bar.close()
    seconds = time.perf_counter() - start
    if interrupted:  # an archive is written whole or not at all
        with signals_ignored():
            return _summary(0, failed, 0, len(inputs) + len(problems), seconds, out, True)
    written = 0
    if arrays:
        try:
            with signals_held():  # the archive in place is recorded
                try:
                    written_stamp = outputs.write_npz(out, arrays.items())
                except (OSError, ValueError) as error:
                    print(f"error: {_output_error(error, out)}", file=sys.stderr)
                    failed += len(arrays)
                else:
                    written = len(arrays)
                    manifest.forget_all()
                    for name in arrays:
                        manifest.add(name, sources[name], written_stamp)
                    manifest.compact()
        except KeyboardInterrupt:  # held until the archive was recorded: it is complete, and said so
            interrupted = True
    elif inputs and any(manifest.wrote(name, out) for name in list(manifest.records)):
        # every input failed: the archive an earlier run wrote holds only stale outputs (as in a folder)
        with contextlib.suppress(OSError):
            out.unlink()
        manifest.forget_all()
        manifest.compact()
    return _summary(written, failed, 0, len(inputs) + len(problems), seconds, out, interrupted)


def _warn_unused_augmentation(config, command: str) -> None:
    if config.augmentation is not None:  # demo and info take no --key
        print(f"warning: {command} draws no augmentation (encode --key and plot --augment do)", file=sys.stderr)


def run_demo(args: argparse.Namespace) -> int:
    from ..plot import plot_file  # matplotlib: imported only to draw

    config = config_from_args(args)
    _warn_unused_augmentation(config, "demo")
    path = args.path or example_path()
    refuse_overwriting(picture_output(args.out), [path], name="-o", recordings=file_stamps(config))  # before work
    info = audio_info(path)
    print(
        f"input   {printable(path)}\n        {info.duration:.3f} s, {info.samplerate} Hz, {info.channels} channel(s), "
        f"{info.format} {info.subtype}"
    )
    print("config\n  " + config.describe().replace("\n", "\n  "))
    start = time.perf_counter()
    out = jax.block_until_ready(encode(config, path))
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = np.asarray(jax.block_until_ready(encode(config, path)))
    again = time.perf_counter() - start
    if not out.size:
        values = "no values (an empty input)"
    elif np.iscomplexobj(out):  # power=None: complex bins have no order
        values = f"max |value| {np.abs(out).max():.3g}"
    else:
        values = f"min {out.min():.3g}, max {out.max():.3g}"
    print(f"output  {out.dtype} {out.shape} = (frames, features); {values}")
    print(
        f"time    first call {first * 1e3:.0f} ms (trace + compile), then {again * 1e3:.1f} ms on "
        f"{jax.default_backend()}"
    )
    try:
        plot_file(config, path, args.out)  # written atomically
    except ImportError as error:
        print(f"picture skipped: {error}", file=sys.stderr)
    else:
        print(f"picture {printable(args.out)}")
    return EXIT_OK


def run_plot(args: argparse.Namespace) -> int:
    from ..plot import plot_file

    config = config_from_args(args)
    if config.augmentation is not None and not args.augment:
        print("warning: the augmentation is drawn only with --augment N (N augmented versions)", file=sys.stderr)
    output = args.output or Path(args.path).stem + ".png"
    refuse_overwriting(picture_output(output), [args.path], name="-o", recordings=file_stamps(config))
    plot_file(config, args.path, output, augment_count=args.augment, seed=args.key, dpi=args.dpi)  # atomically
    print(f"picture {printable(output)}")
    return EXIT_OK


def _info_lines(config, path: str) -> list[str]:
    plan = plan_file(config, path, exact=COUNTED_WHEN_EXACT)  # MP3 headers estimate; a cut FLAC fails
    info, length, count = plan.info, plan.length, plan.frames  # count: samples per channel
    # SPEC 5: a cut file warns here as encode warns when it reads it
    warn_if_truncated(Path(path), plan.frames, _declared.header_frames(Path(path), info.frames), info.format, "holds")
    frames, bins = plan.shape
    resampled = (
        ""
        if info.samplerate == config.sample_rate
        else f" after resampling to {length} samples at {config.sample_rate} Hz"
    )
    return [
        printable(path),
        f"  duration  {count / info.samplerate:.3f} s = {count} sample{'s' * (count != 1)} at {info.samplerate} Hz",
        f"  channels  {info.channels}",
        f"  format    {info.format} ({info.format_info}), {info.subtype} ({info.subtype_info})",
        f"  output    {output_dtype(config)} ({frames}, {bins}) = (frames, features){resampled}",
    ]


def run_info(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    _warn_unused_augmentation(config, "info")
    inputs, problems = find_inputs(args.paths)
    for pattern, reason in problems:
        print(f"error: {printable(pattern)}: {reason}", file=sys.stderr)
    failed = len(problems)
    for item in inputs:
        try:
            lines = _info_lines(config, item.path)
        except FILE_ERRORS as error:
            failed += 1
            print(f"error: {printable(item.path)}: {failure_reason(error, item.path)}", file=sys.stderr)
        else:  # a closed stdout (| head) is not this file's error
            print("\n".join(lines))
    return EXIT_FAILED if failed else EXIT_OK


def run_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.output and args.output != "-":  # "-": stdout, as the other tools take it
        try:  # its checks (a recording, a file that is not a config) name the flag
            _serialize.save(config, args.output, name="-o")  # "-o out/" too: a ConfigError naming -o
        except OSError as error:
            if error.strerror != SPECIAL_NAME:
                raise
            raise OSError(error.errno, f"{SPECIAL_NAME} (-o - prints it)", error.filename) from None
        print(f"wrote {printable(args.output)}")
    elif getattr(sys.stdout, "closed_by_shell", False):  # the config itself would be lost
        raise OSError(errno.EBADF, "standard output is closed; give -o FILE", "<stdout>")
    else:
        sys.stdout.write(config.to_json())
    return EXIT_OK
