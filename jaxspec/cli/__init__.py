"""The ``jaxspec`` command line: ``demo``, ``encode``, ``plot``, ``info``, ``config``.

Every subcommand takes the config flags (``--sample-rate 8000 --window-size 25ms
--volume 0.5:1.5 ...``) and ``--config cfg.json``; flags override the file. Run
``jaxspec SUBCOMMAND --help`` for each one's options.

Exit codes: 0 = done; 1 = some inputs failed (each reported with its path and
reason, the others written); 2 = bad usage or config; 130 = interrupted (Ctrl-C: a
summary line, the outputs written so far complete); 143 and 129 = stopped by SIGTERM or
SIGHUP, as Ctrl-C stops it; 141 = stdout's reader went away (``| head``). No jaxspec or OS error prints a
traceback (set ``JAXSPEC_TRACEBACK=1`` to see one).

Modules: ``flags`` (flag values, the config from flags), ``inputs`` (files, folders,
globs), ``pipeline`` (decoding threads and dispatch), ``commands`` (one function per
subcommand), ``signals`` (how a run stops), ``beam_job`` (``python -m jaxspec.beam``); this
module builds the parser and runs it.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import os
import signal
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .._files import quoted
from ..errors import JaxspecError, TruncatedAudioWarning, did_you_mean
from . import commands as _commands
from . import compile_cache
from .commands import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .flags import add_config_flags, decoding_threads, join_signed_values, path_text, plot_versions, seed
from .inputs import AUDIO_EXTENSIONS, find_inputs
from .pipeline import say
from .signals import ignored_from_now, stop_code, terminate_as_interrupt, tracebacks_wanted

__all__ = [
    "AUDIO_EXTENSIONS",
    "EXIT_FAILED",
    "EXIT_HANGUP",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "find_inputs",
    "main",
    "run",
]


_EPILOG = """\
examples:
  jaxspec demo
  jaxspec info clips/
  jaxspec encode clips/ 'more/**/*.flac' -o features/ --window-size 25ms --offset 10ms
  jaxspec encode clips/ -o train.npz --single --volume 0.5:1.5 --noise 0.01 --key 0
  jaxspec plot clip.wav -o clip.png --time-shift -0.1:0.1 --augment 3 --key 0
  jaxspec config --sample-rate 8000 --normalization rms:0.1 -o cfg.json
  jaxspec encode clips/ -o out/ --config cfg.json
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jaxspec`` (one subparser per command)."""
    parser = argparse.ArgumentParser(
        prog="jaxspec",
        description="Audio spectrograms with JAX: encode files, draw them, write config files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"jaxspec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        paragraphs = "\n\n".join(textwrap.fill(p, 88) for p in description.split("\n\n"))
        return commands.add_parser(
            name, help=summary, description=paragraphs, formatter_class=argparse.RawDescriptionHelpFormatter
        )

    demo = command(
        "demo",
        "encode the bundled speech clip (or PATH), print what it made, draw it",
        "Encodes an audio file (default: the speech clip shipped with jaxspec), prints the input, the "
        "config in effect (window and offset in samples and ms), the output shape and the time taken, "
        "and draws the spectrogram.",
    )
    demo.add_argument("path", nargs="?", type=path_text, help="an audio file (default: the bundled clip)")
    demo.add_argument(
        "-o",
        "--output",
        "--out",
        dest="out",
        type=path_text,
        default="spectrogram.png",
        help="the picture to write (default: spectrogram.png)",
    )
    demo.set_defaults(run=_commands.run_demo)

    encode = command(
        "encode",
        "write one .npy spectrogram per audio file (or one .npz)",
        "Encodes files, folders (recursive, by audio extension) and globs. Writes OUT/<name>.npy per "
        "input, mirroring the folders below each given folder (or one .npz with --single, keyed by "
        "<name>); nothing is written outside OUT. An unreadable file, or an output that cannot be "
        "written, is reported with its path and reason; the others are still written and the exit "
        "code is 1.\n\nEvery output is written under a temporary name and renamed when complete, "
        "and recorded in OUT/.jaxspec-manifest.jsonl (input path, size and time, config, key rule). "
        "Running again into the same OUT skips a file only when its output is complete and was "
        "made from the same input with the same config and key rule; any other output is replaced. "
        "--overwrite re-encodes everything; --skip-existing keeps every whole .npy already under its "
        "final name (the fast way to resume an interrupted run of the same command).\n\nWith --key "
        "SEED, the file whose output name is NAME is augmented with the key "
        "fold_in(fold_in(key(SEED), h >> 32), h & 0xFFFFFFFF), h = the 64-bit blake2b hash of NAME, "
        "so adding a file or splitting the work changes no other file's output.",
    )
    encode.add_argument(
        "paths", nargs="+", type=path_text, metavar="PATH", help="audio files, folders or globs (quote globs)"
    )
    encode.add_argument(
        "-o", "--output", required=True, type=path_text, metavar="OUT", help="output folder (or .npz with --single)"
    )
    encode.add_argument("--single", action="store_true", help="write one .npz file with every spectrogram")
    encode.add_argument("--key", type=seed, metavar="SEED", help="apply the configured augmentation with this seed")
    encode.add_argument("--workers", type=decoding_threads, default=4, help="decoding threads, 1 to 64 (default 4)")
    encode.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    rerun = encode.add_mutually_exclusive_group()
    rerun.add_argument("--overwrite", action="store_true", help="re-encode every file, even up-to-date outputs")
    rerun.add_argument(
        "--skip-existing",
        action="store_true",
        help="keep every whole .npy already under its final name, without checking the manifest (resume a run)",
    )
    encode.set_defaults(run=_commands.run_encode)

    plot = command(
        "plot",
        "draw the waveform and spectrogram (dB) of a file, and augmented versions",
        "Draws the waveform the encoder sees above its spectrogram in dB (time in s, frequency in Hz, "
        "a colour bar). --augment N adds N augmented versions in a grid; version i uses "
        "jax.random.fold_in(jax.random.key(SEED), i) and its title shows the drawn values.",
    )
    plot.add_argument("path", type=path_text, metavar="PATH", help="an audio file")
    plot.add_argument(
        "-o",
        "--output",
        type=path_text,
        metavar="IMAGE",
        help="picture to write, .png/.svg/.pdf (default: PATH's name .png)",
    )
    plot.add_argument(
        "--augment", type=plot_versions, default=0, metavar="N", help="augmented versions to draw (at most 64)"
    )
    plot.add_argument("--key", type=seed, default=0, metavar="SEED", help="seed of the augmentation keys (default 0)")
    plot.add_argument("--dpi", type=int, default=110, help="resolution of a PNG (default 110)")
    plot.set_defaults(run=_commands.run_plot)

    info = command(
        "info",
        "print duration, rate, channels, format and the output shape of files",
        "Prints each file's duration, frames, rate, channels, format and subtype, and the output shape "
        "the config in effect gives. PATH may be files, folders or globs.",
    )
    info.add_argument("paths", nargs="+", type=path_text, metavar="PATH", help="audio files, folders or globs")
    info.set_defaults(run=_commands.run_info)

    config = command(
        "config",
        "print or write the JSON config in effect",
        "Prints the config that the flags (and --config) give, as JSON; -o writes it to a file that "
        "--config reads back. Recordings are written by path (relative to the JSON file's real folder).",
    )
    config.add_argument(
        "-o", "--output", type=path_text, metavar="JSON", help="write to this file instead of printing (- prints)"
    )
    config.set_defaults(run=_commands.run_config)

    for sub in (demo, encode, plot, info, config):
        add_config_flags(sub)
    for sub in (demo, encode, plot):
        sub.add_argument(
            "--no-compile-cache",
            dest="compile_cache",
            action="store_false",
            help="do not keep compiled programs in ~/.cache/jaxspec/xla (also: JAXSPEC_COMPILE_CACHE=0)",
        )
    return parser


_COMPILING = ("encode", "plot", "demo")  # the subcommands that compile programs (compile_cache)


EXIT_TERMINATED = 143
"""The exit code after SIGTERM (128 + 15), which stops a run as Ctrl-C does."""
EXIT_HANGUP = 129
"""The exit code after SIGHUP (128 + 1: the terminal closed), which stops a run as SIGTERM does."""
_STOPPED = {EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_HANGUP}
EXIT_BROKEN_PIPE = 141
"""The exit code when stdout's reader closed it (128 + SIGPIPE, as a shell reports ``cat | head``)."""


def _stopped(command: str, terminated: list[int]) -> int:
    """Says that the run was interrupted or terminated, and returns the exit code (128 + the signal)."""
    name = f"terminated by {signal.Signals(terminated[0]).name}" if terminated else "interrupted"
    with contextlib.suppress(OSError, ValueError):  # after SIGHUP the terminal may be gone (EIO)
        print(f"jaxspec {command}: {name}", file=sys.stderr)
    return stop_code(terminated, EXIT_INTERRUPTED)


def _reason(error: BaseException) -> str:
    """An error as one line: an ``OSError`` as ``'path': reason`` (not ``[Errno N] reason: 'path'``)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{quoted(error.filename)}: {error.strerror}"
    return str(error)


def _show_bytes(error: UnicodeError) -> tuple[str, int]:
    """An output error handler: the bytes of a file name that are not UTF-8 (held as the
    surrogates U+DC80..U+DCFF, Python's ``surrogateescape``) print as ``\\xNN``, as
    ``ls -b`` shows them (``backslashreplace`` printed ``\\udcNN``); anything else the
    stream cannot encode is backslash-escaped."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return "".join(
        f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else ascii(c)[1:-1] for c in text
    ), error.end


_BYTES_SHOWN = "jaxspec.bytes_shown"
codecs.register_error(_BYTES_SHOWN, _show_bytes)


# librosa's, torchaudio's and Kaldi's names for the framing flags: by spelling alone --hop-length
# was "did you mean --target-length?" and --frame-shift "--time-shift" (an augmentation)
_FLAG_SYNONYMS = {
    **{f"--{name}": "--offset" for name in ("hop-length", "hop_length", "hop", "frame-shift", "frame_shift")},
    **{f"--{name}": "--window-size" for name in ("win-length", "win_length", "frame-length", "frame_length")},
    **{f"--{name}": "--fft-size" for name in ("n-fft", "n_fft", "nfft")},
    **{f"--{name}": "--sample-rate" for name in ("sr", "rate", "sample-frequency", "sample_frequency")},
    "--seed": "--key",
}


def _refuse_unknown(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> None:
    """Exits 2 with the subcommand's usage (not the top level's) and the closest flag."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    flags = [flag for action in sub._actions for flag in action.option_strings]
    hints = []
    for flag in (word.split("=")[0] for word in unknown if word.startswith("-")):
        hints += [flag + hint] if (hint := did_you_mean(flag, flags, _FLAG_SYNONYMS)) else []
    sub.error(f"unrecognized arguments: {' '.join(unknown)}" + (f"; {', '.join(hints)}" if hints else ""))


class _StdoutError(OSError):
    """stdout could not be written (``> /dev/full``, a full disk): the report is lost, not the outputs."""


class _Stdout:
    """stdout whose write errors are ``_StdoutError``: a failed write was an ``OSError`` like any
    other, a usage error (exit 2) saying only "[Errno 28] No space left on device", after
    every output had been written. ``BrokenPipeError`` (``| head``) stays itself."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        with self._raising():
            return self._stream.write(text)

    def flush(self) -> None:
        with self._raising():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @contextlib.contextmanager
    def _raising(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _StdoutError(error.errno, f"cannot write to stdout: {error.strerror or error}") from error


class _Closed(io.TextIOBase):
    """A standard stream the shell closed (``>&-``; Python's ``None``, where ``config`` printed an
    AttributeError): reports are dropped, and ``config``, whose output is stdout, refuses."""

    closed_by_shell = True

    def write(self, text: str) -> int:
        return len(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jaxspec`` command; returns the exit code.

    >>> from jaxspec.cli import main
    >>> main(["config", "--offset", "10ms"])  # doctest: +ELLIPSIS
    {
      "sample_rate": 16000,
    ...
    0
    """

    for name in ("stdout", "stderr"):  # a stream the shell closed (>&-) is None: what it gets is dropped (_Closed)
        if getattr(sys, name) is None:
            setattr(sys, name, _Closed())
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8 print as \xNN, never raise
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors=_BYTES_SHOWN)
    parser = build_parser()
    argv = join_signed_values(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(parser, args.command, unknown)
    if args.command in _COMPILING and getattr(args, "compile_cache", True):
        compile_cache.enable()
    terminated: list[int] = []
    stdout, sys.stdout = sys.stdout, _Stdout(sys.stdout)
    try:
        with warnings.catch_warnings(), terminate_as_interrupt(terminated):
            warnings.simplefilter("always", TruncatedAudioWarning)
            warnings.showwarning = _show_warning
            code = args.run(args)
        if terminated and code == EXIT_INTERRUPTED:  # the command wound down and said so on stdout
            return _stopped(args.command, terminated)
        return code
    except KeyboardInterrupt:
        return _stopped(args.command, terminated)
    except BrokenPipeError:  # the reader of stdout went away (| head): quiet, as cat and ls are
        with contextlib.suppress(AttributeError, ValueError, OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return EXIT_BROKEN_PIPE
    except _StdoutError as error:  # the outputs are written (each run's summary says so on stdout)
        with contextlib.suppress(AttributeError, ValueError, OSError):  # nothing more to flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        with contextlib.suppress(OSError, ValueError):
            print(f"jaxspec {args.command}: error: {error.strerror}", file=sys.stderr)
        return stop_code(terminated, EXIT_FAILED)  # a closed terminal after SIGHUP
    except (JaxspecError, ValueError, OSError, ImportError) as error:
        if tracebacks_wanted():
            raise
        print(f"jaxspec {args.command}: error: {_reason(error)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - no tracebacks from the command line
        if tracebacks_wanted():
            raise
        print(
            f"jaxspec {args.command}: unexpected error: {type(error).__name__}: {error} "
            "(set JAXSPEC_TRACEBACK=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        if sys.stdout.__class__ is _Stdout:  # the caller's stream again (a test's capture too)
            sys.stdout = stdout


def run(argv: Sequence[str] | None = None) -> None:
    """The ``jaxspec`` command (and ``python -m jaxspec``): ``main``, then exit with its code.

    After Ctrl-C, SIGTERM or SIGHUP the process ends at once (``os._exit`` once the streams are
    flushed; every output and record is final by then): JAX abandons the wait for a compile
    on the interrupt, the compile goes on in an XLA thread, and the interpreter's teardown
    destroyed the client under it (a segfault, exit -11, in 5 of 5 interrupts during a
    compile with JAX 0.10.2; plain JAX does the same).
    """
    code = main(argv)
    if code in _STOPPED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    ignored_from_now()  # its outputs are final: the code says so, whatever comes during teardown
    sys.exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    say(f"warning: {message}")


if __name__ == "__main__":
    sys.exit(main())
