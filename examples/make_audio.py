#!/usr/bin/env python3
"""Regenerate the synthetic audio assets shipped with jaxspec.

All audio is synthesised with eSpeak NG and post-processed with SoX, so the
assets are reproducible and free of third-party licence restrictions.
Requires the ``espeak-ng`` and ``sox`` command-line tools (Debian/Ubuntu:
``apt-get install espeak-ng sox``).  Output is deterministic: the same
command with the same tool versions produces byte-identical files (SoX runs
in repeatable mode ``-R`` with dithering disabled ``-D``).  The shipped files
were made with eSpeak NG 1.51 and SoX 14.4.2.

Usage (from the repository root)::

    python examples/make_audio.py --speech     # jaxspec/data/speech.flac
    python examples/make_audio.py --keywords   # examples/data/keywords/...
    python examples/make_audio.py --all        # both

Exact commands
--------------
Speech clip (``jaxspec/data/speech.flac``, ~2.7 s, 16 kHz mono 16-bit)::

    espeak-ng -v en-us -s 160 -p 50 --stdout "jax spec turns audio into spectrograms" \\
      | sox -R -t wav - -D -b 16 -C 8 --comment "" jaxspec/data/speech.flac \\
          channels 1 rate -h 16000 \\
          silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -1

i.e. resample 22.05 kHz -> 16 kHz, trim leading/trailing silence (threshold
0.5 % of full scale), normalise the peak to -1 dBFS, write 16-bit FLAC.

Keyword clips (``examples/data/keywords/<word>/<voice>_<speed>_<pitch>.flac``)
are made in two passes for every (word, voice, speed, pitch) combination::

    espeak-ng -v VOICE -s SPEED -p PITCH --stdout WORD \\
      | sox -R -t wav - -D -b 16 tmp.wav channels 1 rate -h 16000 \\
          silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -1
    sox -R tmp.wav -D -b 16 -C 8 --comment "" OUT.flac pad LEADs TRAILs trim 0s 16000s

where N is the number of samples in ``tmp.wav``, LEAD = (16000 - N) // 2 and
TRAIL = 16000 - N - LEAD, so the word is centred in a clip of exactly 1.0 s
(16000 samples); a word longer than 1 s would be cut at 1 s.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEECH_OUT = REPO / "jaxspec" / "data" / "speech.flac"
KEYWORDS_OUT = REPO / "examples" / "data" / "keywords"

SR = 16000

SPEECH_TEXT = "jax spec turns audio into spectrograms"
SPEECH_VOICE, SPEECH_SPEED, SPEECH_PITCH = "en-us", 160, 50

WORDS = ["yes", "no", "up", "down", "left", "right", "stop", "go"]
VOICES = ["en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en+f3", "en+m3"]
SPEEDS = [130, 160, 190]
PITCHES = [35, 70]
CLIP_SAMPLES = SR  # exactly 1.0 s

# Shared SoX effect chain: to mono, resample, trim silence at both ends
# (lightly: 20 ms above 0.5 % of full scale), normalise peak to -1 dBFS.
SOX_CLEAN = [
    "channels",
    "1",
    "rate",
    "-h",
    str(SR),
    "silence",
    "1",
    "0.02",
    "0.5%",
    "reverse",
    "silence",
    "1",
    "0.02",
    "0.5%",
    "reverse",
    "norm",
    "-1",
]
# Output options: 16-bit, no dither, max FLAC compression, no comment tag.
SOX_OUT_FLAC = ["-D", "-b", "16", "-C", "8", "--comment", ""]


def _check_tools() -> None:
    missing = [t for t in ("espeak-ng", "sox", "soxi") if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing required tool(s): {', '.join(missing)} (e.g. apt-get install espeak-ng sox)")


def espeak(text: str, voice: str, speed: int, pitch: int) -> bytes:
    """Synthesise ``text`` and return the WAV bytes (22.05 kHz, 16-bit)."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def sox_from_wav_bytes(wav: bytes, out_opts: list[str], out: Path, effects: list[str]) -> None:
    cmd = ["sox", "-R", "-t", "wav", "-", *out_opts, str(out), *effects]
    subprocess.run(cmd, input=wav, check=True, capture_output=True)


def num_samples(path: Path) -> int:
    res = subprocess.run(["soxi", "-s", str(path)], check=True, capture_output=True, text=True)
    return int(res.stdout.strip())


def make_speech(out: Path = SPEECH_OUT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    wav = espeak(SPEECH_TEXT, SPEECH_VOICE, SPEECH_SPEED, SPEECH_PITCH)
    sox_from_wav_bytes(wav, SOX_OUT_FLAC, out, SOX_CLEAN)
    return out


def make_keyword_clip(word: str, voice: str, speed: int, pitch: int, out: Path, tmpdir: Path) -> None:
    tmp = tmpdir / "clip.wav"
    wav = espeak(word, voice, speed, pitch)
    sox_from_wav_bytes(wav, ["-D", "-b", "16"], tmp, SOX_CLEAN)
    n = min(num_samples(tmp), CLIP_SAMPLES)
    lead = (CLIP_SAMPLES - n) // 2
    trail = CLIP_SAMPLES - n - lead
    cmd = [
        "sox",
        "-R",
        str(tmp),
        *SOX_OUT_FLAC,
        str(out),
        "pad",
        f"{lead}s",
        f"{trail}s",
        "trim",
        "0s",
        f"{CLIP_SAMPLES}s",
    ]
    subprocess.run(cmd, check=True, capture_output=True)


def make_keywords(root: Path = KEYWORDS_OUT) -> int:
    count = 0
    with tempfile.TemporaryDirectory() as td:
        for word in WORDS:
            wdir = root / word
            wdir.mkdir(parents=True, exist_ok=True)
            for voice, speed, pitch in itertools.product(VOICES, SPEEDS, PITCHES):
                out = wdir / f"{voice}_{speed}_{pitch}.flac"
                make_keyword_clip(word, voice, speed, pitch, out, Path(td))
                count += 1
    return count


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--speech", action="store_true", help=f"write {SPEECH_OUT.relative_to(REPO)}")
    p.add_argument("--keywords", action="store_true", help=f"write {KEYWORDS_OUT.relative_to(REPO)}/<word>/*.flac")
    p.add_argument("--all", action="store_true", help="write both")
    args = p.parse_args(argv)
    if not (args.speech or args.keywords or args.all):
        p.error("choose --speech, --keywords or --all")
    _check_tools()
    if args.speech or args.all:
        print("wrote", make_speech().relative_to(REPO))
    if args.keywords or args.all:
        n = make_keywords()
        print(f"wrote {n} clips under {KEYWORDS_OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
