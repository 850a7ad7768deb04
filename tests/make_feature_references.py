"""Make the committed reference fixtures for jaxspec's feature presets (tests/fixtures/features/*.npz).

librosa is tested live in CI; torch, torchaudio, kaldi-native-fbank, openai-whisper and transformers are
too heavy for CI, so their outputs are computed here, once, from the REAL libraries and committed.

Reference environment (CPU only; torch's CPU wheel, nothing from CUDA)::

    python3 -m venv /work/refvenv
    /work/refvenv/bin/pip install torch==2.13.0 numpy soundfile scipy kaldi-native-fbank transformers \
        tiktoken numba more-itertools tqdm librosa
    /work/refvenv/bin/pip install --no-deps openai-whisper torchaudio

``openai-whisper`` goes in with ``--no-deps`` (its only heavy dependency is triton, unused on CPU), and so
does ``torchaudio``: its PyPI wheel is a CUDA build whose C extension does not load beside CPU torch.
Only its pure-Python parts are used (``torchaudio.transforms``, ``torchaudio.compliance.kaldi``), and
``_stub_torchaudio_extension`` below replaces ``torchaudio._extension`` before ``import torchaudio``
(transformers imports torchaudio too, so the stub goes in first).

Run from the repository root::

    OMP_WAIT_POLICY=PASSIVE /work/refvenv/bin/python tests/make_feature_references.py            # all, anew
    OMP_WAIT_POLICY=PASSIVE /work/refvenv/bin/python tests/make_feature_references.py --missing  # only new

``--missing`` writes only the files not already there and leaves the committed ones byte-identical (a
library upgrade would otherwise rewrite them: transformers 5.25 moves ``whisper__transformers__*`` by a
few bytes). A case's file name is its index in its (preset, library) list, so new cases go at the END of
their list; ``--missing`` checks that each existing file still holds its case's preset, options and audio.

Every case is computed either way, and the Kaldi cases are cross-checked: torchaudio.compliance.kaldi and
kaldi-native-fbank on the same audio and options must agree within the case's own tolerance (the one
tests/test_presets.py applies to jaxspec), or nothing is written.

Deterministic: seeded noise, closed-form chirps, the shipped speech clip, one torch thread, no dither.
Nothing is downloaded (whisper's mel filters ship inside the package as ``assets/mel_filters.npz``;
transformers builds its own).

Each case is one file ``{preset}__{lib}__{i}.npz`` with:
  audio        float32 [n]           the input exactly as given to the source library (before pad/trim)
  sample_rate  int64 0-d
  kwargs       0-d str               JSON of the preset's keyword arguments, in the SOURCE library's names
  preset       0-d str               jaxspec.presets function name, e.g. "kaldi_fbank"
  tolerance    0-d str               "mel", "mfcc", "kaldi", "kaldi_mfcc", "kaldi_linear" (use_log_fbank=False)
                                     or "whisper" (committed kaldi_mfcc files say "kaldi": tests map them)
  reference    float32 [frames, features], time-major
  source       0-d str               the library (and version) that made ``reference``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import types
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import soundfile as sf
from tolerances import excess  # the measure tests/test_presets.py holds jaxspec to (this folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "features"
SPEECH = ROOT / "jaxspec" / "data" / "speech.flac"


def _stub_torchaudio_extension() -> None:
    """Let ``import torchaudio`` work without its C extension (pure-Python transforms / kaldi only)."""
    if "torchaudio._extension" in sys.modules:
        return
    stub = types.ModuleType("torchaudio._extension")
    stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
    stub._IS_ALIGN_AVAILABLE = False

    def fail_if_no_align(func):
        def refuse(*args, **kwargs):
            raise RuntimeError("torchaudio's C extension is stubbed out in the reference environment")

        return refuse

    def _load_lib(name):
        return False

    stub.fail_if_no_align = fail_if_no_align
    stub._load_lib = _load_lib
    sys.modules["torchaudio._extension"] = stub


_stub_torchaudio_extension()

import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchaudio.compliance.kaldi as ta_kaldi  # noqa: E402
import torchaudio.transforms as T  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)


# ----------------------------------------------------------------------------------------------- audio


def pcm(x: np.ndarray) -> np.ndarray:
    """Round to the int16 grid (as PCM would be) and keep float32 in [-1, 1)."""
    return (np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def speech(seconds: float | None = None) -> np.ndarray:
    x, sr = sf.read(str(SPEECH), dtype="float32")
    assert sr == 16000 and x.ndim == 1, (sr, x.shape)
    if seconds is not None:
        x = x[: int(seconds * sr)]
    return np.ascontiguousarray(x, dtype=np.float32)


def noise(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    return pcm(0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr)))


def chirp(seconds: float, sr: int = 16000, f0: float = 50.0, f1: float | None = None) -> np.ndarray:
    """Exponential sweep f0 -> f1 (default 0.95 Nyquist), amplitude 0.5."""
    f1 = 0.95 * sr / 2 if f1 is None else f1
    t = np.arange(int(seconds * sr)) / sr
    k = np.log(f1 / f0) / seconds
    return pcm(0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k))


def speech_8k() -> np.ndarray:
    from scipy.signal import resample_poly

    return pcm(resample_poly(speech(1.5).astype(np.float64), 1, 2))


def speech_at(sr: int, seconds: float, start: float = 0.4) -> np.ndarray:
    """``seconds`` of the speech clip from ``start`` s, resampled 16 kHz -> ``sr`` (scipy's polyphase
    filter, an exact rational ratio), on the int16 grid; short, to keep the fixtures small."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(sr, 16000)
    x = speech()[int(start * 16000) :].astype(np.float64)
    return pcm(resample_poly(x, ratio.numerator, ratio.denominator)[: int(seconds * sr)])


def long_31s() -> np.ndarray:
    """31 s, mostly silence: speech at 0 s and 14 s, a chirp from 28.5 s to 31 s (crossing the 30 s cut)."""
    sr = 16000
    x = np.zeros(31 * sr, np.float32)
    s = speech()
    x[: s.size] = s
    x[14 * sr : 14 * sr + s.size] += 0.5 * s
    c = chirp(2.5, f0=100.0, f1=6000.0)
    x[int(28.5 * sr) : int(28.5 * sr) + c.size] += c
    return pcm(x)


# ----------------------------------------------------------------------------------------- references


def ta_version() -> str:
    return torchaudio.__version__.split("+")[0]


def run_torchaudio_mel(x, kw):
    with torch.no_grad():
        y = T.MelSpectrogram(**kw)(torch.from_numpy(x))
    return y.numpy().T, f"torchaudio.transforms.MelSpectrogram {ta_version()}"


def run_torchaudio_mfcc(x, kw):
    with torch.no_grad():
        y = T.MFCC(**kw)(torch.from_numpy(x))
    return y.numpy().T, f"torchaudio.transforms.MFCC {ta_version()}"


def run_ta_kaldi(fn):
    def run(x, kw):
        with torch.no_grad():
            y = getattr(ta_kaldi, fn)(torch.from_numpy(x)[None], **kw)
        return y.numpy(), f"torchaudio.compliance.kaldi.{fn} {ta_version()}"

    return run


# torchaudio.compliance.kaldi's defaults (the preset's), applied to kaldi-native-fbank's options.
KALDI_DEFAULTS = dict(
    blackman_coeff=0.42,
    dither=0.0,
    energy_floor=1.0,
    frame_length=25.0,
    frame_shift=10.0,
    high_freq=0.0,
    htk_compat=False,
    low_freq=20.0,
    num_mel_bins=23,
    preemphasis_coefficient=0.97,
    raw_energy=True,
    remove_dc_offset=True,
    round_to_power_of_two=True,
    sample_frequency=16000.0,
    snip_edges=True,
    use_energy=False,
    use_log_fbank=True,
    use_power=True,
    vtln_high=-500.0,
    vtln_low=100.0,
    window_type="povey",
)
KALDI_MFCC_DEFAULTS = dict(KALDI_DEFAULTS, num_ceps=13, cepstral_lifter=22.0)
for _k in ("use_log_fbank", "use_power"):
    KALDI_MFCC_DEFAULTS.pop(_k)


def knf_options(kind: str, kw: dict):
    import kaldi_native_fbank as knf

    o = dict(KALDI_DEFAULTS if kind == "fbank" else KALDI_MFCC_DEFAULTS)
    unknown = set(kw) - set(o)
    assert not unknown, unknown
    o.update(kw)
    opts = knf.FbankOptions() if kind == "fbank" else knf.MfccOptions()
    f = opts.frame_opts
    f.samp_freq = float(o["sample_frequency"])
    f.frame_shift_ms = float(o["frame_shift"])
    f.frame_length_ms = float(o["frame_length"])
    f.dither = float(o["dither"])
    f.preemph_coeff = float(o["preemphasis_coefficient"])
    f.remove_dc_offset = bool(o["remove_dc_offset"])
    f.window_type = str(o["window_type"])
    f.round_to_power_of_two = bool(o["round_to_power_of_two"])
    f.blackman_coeff = float(o["blackman_coeff"])
    f.snip_edges = bool(o["snip_edges"])
    m = opts.mel_opts
    m.num_bins = int(o["num_mel_bins"])
    m.low_freq = float(o["low_freq"])
    m.high_freq = float(o["high_freq"])
    m.vtln_low = float(o["vtln_low"])
    m.vtln_high = float(o["vtln_high"])
    opts.use_energy = bool(o["use_energy"])
    opts.energy_floor = float(o["energy_floor"])
    opts.raw_energy = bool(o["raw_energy"])
    opts.htk_compat = bool(o["htk_compat"])
    if kind == "fbank":
        opts.use_log_fbank = bool(o["use_log_fbank"])
        opts.use_power = bool(o["use_power"])
    else:
        opts.num_ceps = int(o["num_ceps"])
        opts.cepstral_lifter = float(o["cepstral_lifter"])
    return opts, float(o["sample_frequency"])


def run_knf(kind):
    def run(x, kw):
        import kaldi_native_fbank as knf

        opts, sr = knf_options(kind, kw)
        comp = knf.OnlineFbank(opts) if kind == "fbank" else knf.OnlineMfcc(opts)
        comp.accept_waveform(sr, x.astype(np.float32))
        comp.input_finished()
        y = np.stack([np.asarray(comp.get_frame(i), np.float32) for i in range(comp.num_frames_ready)])
        return y, f"kaldi-native-fbank {knf_version()} Online{'Fbank' if kind == 'fbank' else 'Mfcc'}"

    return run


def knf_version() -> str:
    from importlib.metadata import version

    return version("kaldi-native-fbank")


def run_openai_whisper(x, kw):
    from importlib.metadata import version

    import whisper.audio as wa

    with torch.no_grad():
        y = wa.log_mel_spectrogram(torch.from_numpy(wa.pad_or_trim(x)), kw.get("n_mels", 80))
    return y.numpy().T, f"openai-whisper {version('openai-whisper')} log_mel_spectrogram(pad_or_trim(x))"


def run_transformers_whisper(x, kw):
    import transformers
    from transformers import WhisperFeatureExtractor

    fe = WhisperFeatureExtractor(feature_size=kw.get("n_mels", 80))
    y = fe(x, sampling_rate=16000, return_tensors="np")["input_features"][0]
    return np.asarray(y).T, f"transformers {transformers.__version__} WhisperFeatureExtractor"


# ----------------------------------------------------------------------------------------------- cases

I16 = 32768.0


def cases():
    """(preset, lib, runner, tolerance, audio name, audio, sample_rate, kwargs)."""
    sp, sp16 = speech(1.5), speech(1.5) * np.float32(I16)
    nz, ch = noise(1.0, seed=0), chirp(1.0)
    sp8k = speech_8k()
    # Short clips at 22.05, 44.1 and 8 kHz (the 8 kHz speech ends in the clip's digital silence).
    sp22, sp44, sp8 = (speech_at(sr, t) * np.float32(I16) for sr, t in ((22050, 0.15), (44100, 0.09), (8000, 0.3)))
    nz22, nz44, nz8 = (
        noise(t, sr, seed) * np.float32(I16) for t, sr, seed in ((0.15, 22050, 1), (0.09, 44100, 2), (0.3, 8000, 3))
    )
    ch22, ch44, ch8 = chirp(0.15, 22050, f0=100.0), chirp(0.09, 44100, f0=200.0), chirp(0.3, 8000, f0=60.0)
    out = []

    # torchaudio.transforms.MelSpectrogram
    mel = [
        ("speech", sp, {}),
        ("noise", nz, {"n_fft": 512, "hop_length": 128, "n_mels": 64, "f_min": 20.0, "f_max": 7600.0}),
        ("chirp", ch, {"n_fft": 512, "n_mels": 64, "norm": "slaney", "mel_scale": "slaney"}),
        ("speech", sp, {"n_fft": 400, "n_mels": 80, "center": False}),
        ("chirp", ch, {"n_fft": 512, "n_mels": 40, "power": 1.0}),
        ("speech", sp, {"n_fft": 400, "n_mels": 80, "pad_mode": "constant"}),
    ]
    for name, x, kw in mel:
        out.append(("torchaudio_melspectrogram", "torchaudio", run_torchaudio_mel, "mel", name, x, 16000, kw))

    # torchaudio.transforms.MFCC
    mfcc = [
        ("speech", sp, {}),
        ("speech", sp, {"n_mfcc": 13, "log_mels": True, "melkwargs": {"n_fft": 400, "n_mels": 40}}),
        (
            "noise",
            nz,
            {
                "n_mfcc": 13,
                "melkwargs": {"n_fft": 512, "hop_length": 160, "n_mels": 64, "f_min": 20.0, "f_max": 7600.0},
            },
        ),
        (
            "chirp",
            ch,
            {"n_mfcc": 20, "melkwargs": {"n_fft": 512, "n_mels": 64, "norm": "slaney", "mel_scale": "slaney"}},
        ),
    ]
    for name, x, kw in mfcc:
        out.append(("torchaudio_mfcc", "torchaudio", run_torchaudio_mfcc, "mfcc", name, x, 16000, kw))

    # Kaldi fbank: torchaudio.compliance.kaldi and kaldi-native-fbank with the same options.
    fbank = [
        ("speech", sp, 16000, {}),
        ("speech16", sp16, 16000, {}),
        ("speech16", sp16, 16000, {"num_mel_bins": 80}),
        ("speech16", sp16, 16000, {"snip_edges": False}),
        ("noise", nz, 16000, {"window_type": "hamming"}),
        ("chirp", ch, 16000, {"window_type": "hanning"}),
        ("noise", nz, 16000, {"window_type": "rectangular"}),
        ("chirp", ch, 16000, {"window_type": "blackman"}),
        ("speech16", sp16, 16000, {"low_freq": 40.0, "high_freq": -400.0}),
        ("speech16", sp16, 16000, {"use_power": False}),
        ("speech16", sp16, 16000, {"round_to_power_of_two": False}),
        ("speech16", sp16, 16000, {"preemphasis_coefficient": 0.0, "remove_dc_offset": False}),
        ("speech8k", sp8k * np.float32(I16), 8000, {"sample_frequency": 8000.0}),
        ("speech16", sp16, 16000, {"use_energy": True}),
        ("speech", sp, 16000, {"use_energy": True, "num_mel_bins": 40, "snip_edges": False}),
    ]
    # Other sample rates and options, int16 scale but the chirps and one 8 kHz speech (in [-1, 1)).
    # New cases go at the end (the index is the file name; see --missing). use_log_fbank=False is
    # "kaldi_linear" (tests/test_presets.py); a linear fbank with use_energy would mix a log column
    # into linear bands, so none here.
    sf22, sf44, sf8 = {"sample_frequency": 22050.0}, {"sample_frequency": 44100.0}, {"sample_frequency": 8000.0}
    fbank += [
        ("noise", nz22, 22050, dict(sf22, window_type="hamming", num_mel_bins=40, high_freq=-1000.0)),
        ("chirp", ch22, 22050, dict(sf22, window_type="blackman", snip_edges=False, low_freq=100.0, high_freq=8000.0)),
        ("speech", sp22, 22050, dict(sf22, frame_length=40.0, frame_shift=5.0, round_to_power_of_two=False)),
        ("speech", sp44, 44100, dict(sf44)),
        (
            "noise",
            nz44,
            44100,
            dict(sf44, window_type="rectangular", use_energy=True, num_mel_bins=64, high_freq=-2000.0),
        ),
        ("chirp", ch44, 44100, dict(sf44, window_type="hanning", snip_edges=False, use_log_fbank=False)),
        (
            "speech",
            sp44,
            44100,
            dict(
                sf44,
                frame_length=20.0,
                frame_shift=5.0,
                preemphasis_coefficient=0.5,
                remove_dc_offset=False,
                use_energy=True,
                raw_energy=False,
            ),
        ),
        ("noise", nz8, 8000, dict(sf8, use_log_fbank=False, use_power=False)),
        (
            "chirp",
            ch8,
            8000,
            dict(sf8, window_type="blackman", blackman_coeff=0.5, num_mel_bins=15, low_freq=64.0, high_freq=-200.0),
        ),
        ("speech", sp8, 8000, dict(sf8, snip_edges=False, frame_shift=12.5, use_energy=True, raw_energy=False)),
        ("speech", sp8 / np.float32(I16), 8000, dict(sf8, use_log_fbank=False, window_type="hamming")),
    ]
    for lib, runner in (("torchaudio", run_ta_kaldi("fbank")), ("knf", run_knf("fbank"))):
        for name, x, sr, kw in fbank:
            tol = "kaldi_linear" if kw.get("use_log_fbank") is False else "kaldi"
            out.append(("kaldi_fbank", lib, runner, tol, name, x, sr, kw))

    # Kaldi MFCC
    kmfcc = [
        ("speech16", sp16, 16000, {}),
        ("speech16", sp16, 16000, {"num_ceps": 20, "cepstral_lifter": 0.0, "num_mel_bins": 40}),
        ("speech16", sp16, 16000, {"use_energy": True}),
        ("chirp", ch, 16000, {"snip_edges": False, "window_type": "hamming"}),
        ("speech", sp22, 22050, dict(sf22, num_ceps=20, num_mel_bins=30, cepstral_lifter=0.0)),
        (
            "chirp",
            ch22,
            22050,
            dict(
                sf22,
                window_type="rectangular",
                frame_length=50.0,
                frame_shift=20.0,
                round_to_power_of_two=False,
                preemphasis_coefficient=0.0,
                remove_dc_offset=False,
            ),
        ),
        (
            "speech",
            sp44,
            44100,
            dict(sf44, window_type="hamming", num_mel_bins=40, high_freq=-1000.0, use_energy=True, raw_energy=False),
        ),
        # Left out: noise at 44.1 kHz with num_ceps=23, cepstral_lifter=30 (lifts c22 by 16x). torchaudio
        # builds its DCT matrix in float32 (cos of up to 70 rad): 2.0e-4 mean |diff| from Kaldi's
        # definition in float64 over all cepstra, against 1.8e-5 for kaldi-native-fbank and 1.3e-5 for
        # jaxspec, so the two references disagree past the "noise" full-band bound (1e-4).
        ("noise", nz44, 44100, dict(sf44, snip_edges=False)),
        (
            "speech",
            sp8,
            8000,
            dict(sf8, num_ceps=10, num_mel_bins=15, cepstral_lifter=10.0, low_freq=0.0, snip_edges=False),
        ),
    ]
    for lib, runner in (("torchaudio", run_ta_kaldi("mfcc")), ("knf", run_knf("mfcc"))):
        for name, x, sr, kw in kmfcc:
            out.append(("kaldi_mfcc", lib, runner, "kaldi_mfcc", name, x, sr, kw))

    # Whisper: 3000 x n_mels each, so few cases; both libraries on padded speech and trimmed 31 s.
    full, l31 = speech(), long_31s()
    whisper = [
        ("openai", run_openai_whisper, "speech", full, {"n_mels": 80}),
        ("openai", run_openai_whisper, "long31", l31, {"n_mels": 128}),
        ("transformers", run_transformers_whisper, "long31", l31, {"n_mels": 80}),
        ("transformers", run_transformers_whisper, "speech", full, {"n_mels": 128}),
    ]
    for lib, runner, name, x, kw in whisper:
        out.append(("whisper", lib, runner, "whisper", name, x, 16000, kw))
    return out


def save_npz(path: Path, **arrays) -> None:
    """``np.savez_compressed``, byte-for-byte reproducible (fixed zip timestamps), so a rerun leaves git clean."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, buf.getvalue(), compresslevel=9)


# Committed cases whose two references differ past the tolerance by a margin jaxspec still meets
# (it passes against each): key (preset, audio name, kwargs JSON) -> why. New cases that disagree are
# left out instead, with a comment where they would be.
CROSS_CHECK_EXCEPTIONS: dict[tuple[str, str, str], str] = {}  # none since kaldi_mfcc has its own kind


def same_case(path: Path, preset: str, x: np.ndarray, sr: int, kw: dict) -> bool:
    """Whether the committed ``path`` was made from this case (its preset, audio, rate and options)."""
    with np.load(path) as data:
        return (
            str(data["preset"]) == preset
            and int(data["sample_rate"]) == sr
            and json.loads(str(data["kwargs"])) == json.loads(json.dumps(kw))
            and np.array_equal(data["audio"], x)
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--missing",
        action="store_true",
        help="write only the fixtures not already present (leave the others as they are)",
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    counters: dict[tuple[str, str], int] = {}
    made = []
    for preset, lib, runner, tol, name, x, sr, kw in cases():
        x = np.ascontiguousarray(x, np.float32)
        ref, source = runner(x, kw)
        ref = np.ascontiguousarray(ref, np.float32)
        assert ref.ndim == 2 and np.isfinite(ref).all(), (preset, lib, ref.shape)
        i = counters.get((preset, lib), 0)
        counters[(preset, lib)] = i + 1
        made.append((OUT / f"{preset}__{lib}__{i}.npz", preset, lib, tol, name, x, sr, kw, ref, source))

    # Cross-check the two implementations of the same preset on the same input: keyed by the audio's
    # bytes (not its name: "speech" is cut and resampled several ways), rate and options.
    refs: dict[tuple, tuple[str, np.ndarray]] = {}
    cross: dict[Path, str] = {}
    failed = []
    for path, preset, lib, tol, name, x, sr, kw, ref, _source in made:
        key = (preset, sr, hashlib.sha256(x.tobytes()).hexdigest(), json.dumps(kw, sort_keys=True))
        if key in refs:
            first, first_ref = refs[key]
            error = excess(tol, ref, first_ref, full_band=name == "noise")
            cross[path] = f"{error:.3f}" if np.isfinite(error) else "shape"
            if error > 1.0 and (preset, name, json.dumps(kw, sort_keys=True)) not in CROSS_CHECK_EXCEPTIONS:
                failed.append(f"{path.name} ({lib}) vs {first}: {error:.3g} x the {tol} tolerance, {kw}")
        else:
            refs[key] = (lib, ref)
    if failed:
        sys.exit("the two references disagree (leave such a case out, with a comment):\n  " + "\n  ".join(failed))

    if not args.missing:
        for old in OUT.glob("*.npz"):
            old.unlink()
    rows = []
    for path, preset, _lib, tol, name, x, sr, kw, ref, source in made:
        if args.missing and path.exists():
            if not same_case(path, preset, x, sr, kw):
                sys.exit(f"{path.name} holds another case than its index's: add new cases at the end of their list")
            status = "kept"
        else:
            save_npz(
                path,
                audio=x,
                sample_rate=np.int64(sr),
                kwargs=np.str_(json.dumps(kw, sort_keys=True)),
                preset=np.str_(preset),
                tolerance=np.str_(tol),
                reference=ref,
                source=np.str_(source),
                audio_name=np.str_(name),
            )
            status = "new" if args.missing else ""
        size = path.stat().st_size
        rows.append(
            (path.name, name, x.size, sr, ref.shape, size, cross.get(path, ""), status, json.dumps(kw, sort_keys=True))
        )

    total = sum(r[5] for r in rows)
    head = ("file", "audio", "samples", "sr", "reference", "bytes", "x-lib", "")
    print("{:38s} {:9s} {:>7s} {:>5s} {:>11s} {:>8s} {:>8s} {:4s}  kwargs".format(*head))
    for f, name, n, sr, shape, size, error, status, kw in rows:
        print(f"{f:38s} {name:9s} {n:7d} {sr:5d} {str(shape):>11s} {size:8d} {error:>8s} {status:4s}  {kw}")
    print(f"{len(rows)} cases, {total / 1e6:.2f} MB in {OUT.relative_to(ROOT)}")
    new = [r for r in rows if r[7] == "new"]
    if args.missing:
        print(f"{len(new)} new, {sum(r[5] for r in new) / 1e3:.1f} kB; the others kept as they were")
    print("x-lib: the second library against the first on the same preset, audio and kwargs, as a fraction")
    print("of the tolerance tests/test_presets.py holds jaxspec to (<= 1 but for CROSS_CHECK_EXCEPTIONS)")


if __name__ == "__main__":
    main()
