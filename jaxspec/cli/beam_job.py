"""The command line of the Beam job, ``python -m jaxspec.beam`` (``jaxspec.beam.main``): its
flags (``jaxspec encode``'s config flags, plus Beam's pipeline options), the job run on the
runner they name, and its summary and exit code: 0 = done, 1 = some inputs failed (each named),
2 = bad usage, 130 = interrupted. An error that stops the job is one line, not Beam's
traceback (``JAXSPEC_TRACEBACK=1`` raises it).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import apache_beam as beam

from .._files import printable
from ..beam import encode_corpus
from ..framing import uses_key
from ..manifest import MANIFEST_NAME, job_rows
from .signals import tracebacks_wanted


def _stopped(error: BaseException) -> int:
    """The message and exit code of a job stopped by Ctrl-C (130, as jaxspec encode) or by what no
    item's row holds (1: the manifest unreadable at the merge), not Beam's traceback (unless wanted)."""
    text, stderr = str(error).strip(), sys.stderr
    if isinstance(error, KeyboardInterrupt) or "KeyboardInterrupt" in text:
        print("python -m jaxspec.beam: interrupted (the outputs written are whole; rerun to resume)", file=stderr)
        return 130
    if tracebacks_wanted():
        raise error
    reason = printable(text.splitlines()[-1] if text else type(error).__name__)
    print(
        f"python -m jaxspec.beam: error: {reason} (the outputs written are whole; JAXSPEC_TRACEBACK=1 shows where)",
        file=stderr,
    )
    return 1


def _without_interrupt(record: logging.LogRecord) -> bool:
    """False for Beam's log of a Ctrl-C stopping a step ("KeyboardInterrupt [while running
    'Write']" and its traceback, before the one-line summary: 5 of 5 interrupts, an audit)."""
    kind = record.exc_info[0] if record.exc_info else None
    return not (isinstance(kind, type) and issubclass(kind, KeyboardInterrupt))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jaxspec.beam``: see ``jaxspec.beam``'s docstring; returns the exit code."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from .flags import add_config_flags, config_from_args, join_signed_values
    from .inputs import find_inputs, refuse_collisions

    parser = argparse.ArgumentParser(
        prog="python -m jaxspec.beam",
        description="Encode a corpus into one .npy per file with Apache Beam (any runner).",
    )
    parser.add_argument("--input", nargs="+", required=True, metavar="PATH_OR_GLOB", help="files, folders, globs")
    parser.add_argument("--output", required=True, metavar="DIR", help="the output folder")
    parser.add_argument("--key", type=int, metavar="SEED", help="apply the configured augmentation with this seed")
    parser.add_argument("--overwrite", action="store_true", help="remake every output, even up-to-date ones")
    add_config_flags(parser)
    args, beam_args = parser.parse_known_args(join_signed_values(sys.argv[1:] if argv is None else argv))
    options = PipelineOptions(beam_args)  # Beam drops arguments it does not know with a warning only:
    parsers: list = []  # Beam's parser of all its options, to find what none of them takes
    options.get_all_options(add_extra_args_fn=parsers.append)
    unknown = parsers[0].parse_known_args(beam_args)[1]
    if unknown:  # a mistyped flag (--window-sise 25ms) ran the job with the default config, exit 0,
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")  # and a path after --output was not read
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as error:  # a bad flag or --config file: a usage error, as jaxspec encode says
        print(f"python -m jaxspec.beam: error: {error}", file=sys.stderr)
        return 2
    if (args.key is not None) != uses_key(config):  # as jaxspec encode warns
        what = "has no effect: the config has no augmentation and no dither" if args.key is not None else "is not given"
        print(f"warning: --key {what} (no key = evaluation: nothing is augmented or dithered)", file=sys.stderr)
    inputs, problems = find_inputs(args.input)
    if refuse_collisions(inputs, args.output):  # as jaxspec encode: a usage error, nothing encoded
        return 2
    for pattern, reason in problems:
        print(f"error: {printable(pattern)}: {reason}", file=sys.stderr)
    if os.path.lexists(args.output) and not os.path.isdir(args.output):  # makedirs said only "[Errno 17]"
        why = "is a file, not a folder; give a folder for the outputs"
        return print(f"python -m jaxspec.beam: error: --output {printable(args.output)!r} {why}", file=sys.stderr) or 2
    start, pipeline = time.perf_counter(), beam.Pipeline(options=options)
    try:  # --output a file, a folder or FIFO as the manifest: a usage error (they were tracebacks, exit 1)
        os.makedirs(args.output, exist_ok=True)
        names = [(item.path, item.name) for item in inputs]
        encode_corpus(pipeline, config, names, args.output, seed=args.key, overwrite=args.overwrite)
    except (OSError, ValueError) as error:
        shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)  # Beam removes it in run() only: one per usage error
        print(f"python -m jaxspec.beam: error: {printable(str(error))}", file=sys.stderr)
        return 2
    steps = logging.getLogger("apache_beam.runners.common")  # where a step's failure is logged
    if not tracebacks_wanted():
        steps.addFilter(_without_interrupt)
    try:
        pipeline.run().wait_until_finish()
    except (KeyboardInterrupt, Exception) as error:  # the DirectRunner wraps a worker's Ctrl-C
        return _stopped(error)
    finally:
        steps.removeFilter(_without_interrupt)
    try:
        rows = job_rows(Path(args.output) / MANIFEST_NAME)
    except OSError as error:  # replaced meanwhile (a FIFO hung the summary's read)
        print(f"python -m jaxspec.beam: error: cannot read the manifest: {printable(str(error))}", file=sys.stderr)
        return 1
    counts = {status: sum(row.get("status") == status for row in rows) for status in ("written", "skipped", "failed")}
    counts["failed"] += len(problems)  # inputs that named nothing, as jaxspec encode counts them
    for row in rows:
        if row.get("status") == "failed":
            print(f"error: {printable(row['path'])}: {row['error']}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(
        f"{counts['written']} written, {counts['skipped']} skipped, {counts['failed']} failed in {seconds:.1f} s "
        f"-> {printable(args.output)}"
    )
    return 1 if counts["failed"] else 0
