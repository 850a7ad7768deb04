"""Peers for the feature workloads (W5): each peer in its fastest documented form, timed on CPU.

Workloads (W5):
  whisper  Whisper log-mel features of 8 clips x 30 s at 16 kHz (n_mels 80):
           openai-whisper ``log_mel_spectrogram`` on a batched torch tensor [8, 480000] and per clip,
           transformers ``WhisperFeatureExtractor`` batched (a list of clips, an ndarray [8, 480000])
           and per clip.
  kaldi    Kaldi fbank (torchaudio.compliance.kaldi defaults, 23 bins; int16-scale input) of 64 clips
           x 3 s: kaldi-native-fbank ``OnlineFbank`` per clip (it has no batch API) and
           ``torchaudio.compliance.kaldi.fbank`` per clip (it takes one waveform).
  librosa  librosa's default ``feature.melspectrogram`` of 64 clips x 1 s: batched ``y=[64, L]`` and
           per clip.

Each peer is a factory ``make_<peer>(clips: np.ndarray) -> Callable[[], Any]`` (clips ``[B, L]``
float32): the factory does the one-off work (imports, building the extractor, converting to tensors)
and returns a zero-argument function that computes the features of every clip, so a driver can time
it beside jaxspec. Peers are imported lazily: a factory raises ImportError when its package is
missing and the table skips it with a note. torchaudio's C extension is not needed (only its
pure-Python parts are used): where it does not load (a CUDA wheel beside CPU torch) it is stubbed out.

Timing: per workload, every contender is warmed up, then all are timed interleaved over rounds (the
order rotates each round) and the min (and median) is reported, with torch at 2 threads.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/peers_features.py            # all of W5
    OMP_WAIT_POLICY=PASSIVE python benchmarks/peers_features.py --quick    # a smoke test
    python benchmarks/peers_features.py --only kaldi,librosa
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

SAMPLE_RATE = 16000
TORCH_THREADS = int(os.environ.get("BENCH_TORCH_THREADS", 0)) or (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)  # one per usable core (run.py's rule)
WHISPER_CLIPS, WHISPER_SECONDS, WHISPER_MELS = 8, 30, 80
KALDI_CLIPS, KALDI_SECONDS = 64, 3
LIBROSA_CLIPS, LIBROSA_SECONDS = 64, 1
ROUNDS = {"whisper": 5, "kaldi": 7, "librosa": 15}
QUICK_ROUNDS = {"whisper": 1, "kaldi": 2, "librosa": 2}
WARMUP = 1


# --------------------------------------------------------------------------------------------- inputs


def test_clips(count: int, seconds: float, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """``[count, seconds * 16000]`` float32: speech-like noise (a sum of decaying tones and noise)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    out = np.empty((count, n), np.float32)
    for i in range(count):
        f = rng.uniform(100, 4000, size=4)
        tones = sum(np.sin(2 * np.pi * fk * t + rng.uniform(0, 6.28)) for fk in f) / 8
        out[i] = (tones + 0.05 * rng.standard_normal(n)) * scale
    return out


def whisper_clips() -> np.ndarray:
    return test_clips(WHISPER_CLIPS, WHISPER_SECONDS, seed=5)


def kaldi_clips() -> np.ndarray:
    return test_clips(KALDI_CLIPS, KALDI_SECONDS, seed=6, scale=32768.0)


def librosa_clips() -> np.ndarray:
    return test_clips(LIBROSA_CLIPS, LIBROSA_SECONDS, seed=7)


# ------------------------------------------------------------------------------------- lazy imports


def import_torch() -> Any:
    import torch

    torch.set_num_threads(TORCH_THREADS)
    return torch


def import_torchaudio() -> Any:
    """``import torchaudio``; if its C extension does not load, retry with ``torchaudio._extension`` stubbed."""
    import_torch()
    try:
        import torchaudio
    except (OSError, ImportError, RuntimeError) as err:
        from importlib.util import find_spec

        if find_spec("torchaudio") is None:
            raise ImportError("torchaudio is not installed", name="torchaudio") from err
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
        stub = types.ModuleType("torchaudio._extension")
        stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
        stub._IS_ALIGN_AVAILABLE = False
        stub.fail_if_no_align = lambda func: func
        stub._load_lib = lambda name: False
        sys.modules["torchaudio._extension"] = stub
        import torchaudio
    import torchaudio.compliance.kaldi  # noqa: F401

    return torchaudio


# -------------------------------------------------------------------------------------- whisper (a)


def make_openai_whisper_batched(clips: np.ndarray) -> Callable[[], Any]:
    """openai-whisper on one tensor [B, 480000]. NB: its max − 8 floor is then over the whole batch."""
    torch = import_torch()
    import whisper.audio as wa

    x = torch.from_numpy(np.ascontiguousarray(wa.pad_or_trim(clips, axis=-1), np.float32))
    wa.mel_filters(x.device, WHISPER_MELS)  # cached after the first call

    def run() -> Any:
        with torch.inference_mode():
            return wa.log_mel_spectrogram(x, WHISPER_MELS)

    return run


def make_openai_whisper_loop(clips: np.ndarray) -> Callable[[], Any]:
    """openai-whisper per clip (its documented use; each clip's own max)."""
    torch = import_torch()
    import whisper.audio as wa

    xs = [torch.from_numpy(np.ascontiguousarray(wa.pad_or_trim(c), np.float32)) for c in clips]

    def run() -> Any:
        with torch.inference_mode():
            return [wa.log_mel_spectrogram(x, WHISPER_MELS) for x in xs]

    return run


def _whisper_transcribed(clips: np.ndarray, power: str) -> tuple[Any, Callable[[Any], Any]]:
    """openai-whisper's ``log_mel_spectrogram`` code (whisper/audio.py) transcribed with the max
    taken per clip (jaxspec's work for a batch); ``power``: ``"abs"`` (whisper's
    ``abs() ** 2``) or ``"re_im"`` (``.real**2 + .imag**2``, faster on CPU in W1)."""
    torch = import_torch()
    import whisper.audio as wa

    x = torch.from_numpy(np.ascontiguousarray(wa.pad_or_trim(clips, axis=-1), np.float32))
    filters = wa.mel_filters(x.device, WHISPER_MELS)
    window = torch.hann_window(400)

    def log_mel(audio: Any) -> Any:
        stft = torch.stft(audio, 400, 160, window=window, return_complex=True)[..., :-1]
        magnitudes = stft.abs() ** 2 if power == "abs" else stft.real**2 + stft.imag**2
        log_spec = torch.clamp(filters @ magnitudes, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
        return (log_spec + 4.0) / 4.0

    return x, log_mel


def make_whisper_transcribed_batched(clips: np.ndarray, power: str = "abs") -> Callable[[], Any]:
    """``_whisper_transcribed`` on one tensor ``[B, 480000]``."""
    torch = import_torch()
    x, log_mel = _whisper_transcribed(clips, power)

    def run() -> Any:
        with torch.inference_mode():
            return log_mel(x)

    return run


def make_whisper_transcribed_batched_re_im(clips: np.ndarray) -> Callable[[], Any]:
    return make_whisper_transcribed_batched(clips, "re_im")


def make_whisper_transcribed_loop_re_im(clips: np.ndarray) -> Callable[[], Any]:
    """``_whisper_transcribed`` (``.real**2 + .imag**2``) clip by clip."""
    torch = import_torch()
    x, log_mel = _whisper_transcribed(clips, "re_im")

    def run() -> Any:
        with torch.inference_mode():
            return [log_mel(row) for row in x]

    return run


def _whisper_extractor() -> Any:
    try:
        import_torchaudio()  # transformers imports torchaudio when installed
    except ImportError:
        pass
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=WHISPER_MELS)


def make_transformers_whisper_list(clips: np.ndarray) -> Callable[[], Any]:
    """transformers ``WhisperFeatureExtractor`` on a list of clips (batched; torch STFT when torch is there)."""
    fe = _whisper_extractor()
    xs = list(clips)

    def run() -> Any:
        return fe(xs, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"]

    return run


def make_transformers_whisper_array(clips: np.ndarray) -> Callable[[], Any]:
    """transformers ``WhisperFeatureExtractor`` on an ndarray [B, L] (batched)."""
    fe = _whisper_extractor()

    def run() -> Any:
        return fe(clips, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"]

    return run


def make_transformers_whisper_loop(clips: np.ndarray) -> Callable[[], Any]:
    """transformers ``WhisperFeatureExtractor`` per clip."""
    fe = _whisper_extractor()

    def run() -> Any:
        return [fe(c, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"] for c in clips]

    return run


# ---------------------------------------------------------------------------------------- kaldi (b)


def make_kaldi_native_fbank(clips: np.ndarray) -> Callable[[], Any]:
    """kaldi-native-fbank ``OnlineFbank`` per clip, set to torchaudio.compliance.kaldi's defaults."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0  # torchaudio's default (knf's is 3e-5)
    opts.frame_opts.samp_freq = float(SAMPLE_RATE)
    opts.energy_floor = 1.0  # torchaudio's default
    opts.mel_opts.num_bins = 23
    xs = [np.ascontiguousarray(c, np.float32) for c in clips]

    def one(x: np.ndarray) -> np.ndarray:
        fb = knf.OnlineFbank(opts)
        fb.accept_waveform(float(SAMPLE_RATE), x)
        fb.input_finished()
        return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])

    def run() -> Any:
        return [one(x) for x in xs]

    return run


def make_torchaudio_kaldi_fbank(clips: np.ndarray) -> Callable[[], Any]:
    """``torchaudio.compliance.kaldi.fbank`` per clip (it takes a single [1, L] waveform)."""
    torch = import_torch()
    torchaudio = import_torchaudio()
    fbank = torchaudio.compliance.kaldi.fbank
    xs = [torch.from_numpy(np.ascontiguousarray(c, np.float32))[None] for c in clips]

    def run() -> Any:
        with torch.inference_mode():
            return [fbank(x) for x in xs]

    return run


def kaldi_fbank_transcribed(device: str = "cpu") -> Callable[[Any], Any]:
    """``torchaudio.compliance.kaldi.fbank``'s defaults written out in torch for a batch
    ``[B, L]`` (as W5a transcribes openai-whisper): snip_edges framing, DC removal,
    pre-emphasis 0.97 (the first sample replicated), povey window, a 512-point rfft,
    ``re**2 + im**2``, Kaldi's 23 mel banks from 20 Hz to Nyquist, ``log(max(x, eps))``."""
    torch = import_torch()
    rate, size, hop, fft, bins = 16000, 400, 160, 512, 23
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    lo, hi = mel(20.0), mel(rate / 2)
    delta = (hi - lo) / (bins + 1)
    b = np.arange(bins)[:, None]
    left, centre, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
    m = mel(rate / fft * np.arange(fft // 2))[None, :]
    banks = np.maximum(0.0, np.minimum((m - left) / (centre - left), (right - m) / (right - centre)))
    banks_t = torch.from_numpy(np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)).T.contiguous().to(device)
    window = torch.hann_window(size, periodic=False, device=device).pow(0.85)  # povey
    eps = torch.tensor(torch.finfo(torch.float32).eps, device=device)

    def fbank(wave: Any) -> Any:
        frames = wave.unfold(-1, size, hop)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        previous = torch.nn.functional.pad(frames, (1, 0), mode="replicate")[..., :-1]
        s = torch.fft.rfft((frames - 0.97 * previous) * window, n=fft)
        return torch.maximum((s.real**2 + s.imag**2) @ banks_t, eps).log()

    return fbank


def make_kaldi_transcribed_loop(clips: np.ndarray) -> Callable[[], Any]:
    """``kaldi_fbank_transcribed`` per clip (torchaudio's per-waveform call without its overhead)."""
    torch, fbank = import_torch(), kaldi_fbank_transcribed()
    xs = [torch.from_numpy(np.ascontiguousarray(c, np.float32))[None] for c in clips]

    def run() -> Any:
        with torch.inference_mode():
            return [fbank(x)[0] for x in xs]

    return run


def make_kaldi_transcribed_batched(clips: np.ndarray) -> Callable[[], Any]:
    """``kaldi_fbank_transcribed`` on the batch ``[B, L]`` at once."""
    torch, fbank = import_torch(), kaldi_fbank_transcribed()
    x = torch.from_numpy(np.ascontiguousarray(clips, np.float32))

    def run() -> Any:
        with torch.inference_mode():
            return fbank(x)

    return run


# -------------------------------------------------------------------------------------- librosa (c)


def make_librosa_melspectrogram_batched(clips: np.ndarray) -> Callable[[], Any]:
    """``librosa.feature.melspectrogram(y=x[B, L])`` (defaults: n_fft 2048, hop 512, 128 mels)."""
    import librosa

    librosa.filters.mel(sr=SAMPLE_RATE, n_fft=2048)  # warm librosa's caches and lazy imports

    def run() -> Any:
        return librosa.feature.melspectrogram(y=clips, sr=SAMPLE_RATE)

    return run


def make_torchaudio_melspectrogram_librosa(clips: np.ndarray) -> Callable[[], Any]:
    """``torchaudio.transforms.MelSpectrogram`` set to librosa's defaults (n_fft 2048, hop 512,
    128 Slaney mels with Slaney norm, centred with zero padding), on the batch ``[B, L]``."""
    torch = import_torch()
    torchaudio = import_torchaudio()
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=2048, hop_length=512, n_mels=128, norm="slaney", mel_scale="slaney",
        center=True, pad_mode="constant", power=2.0,
    )  # fmt: skip
    x = torch.from_numpy(np.ascontiguousarray(clips, np.float32))

    def run() -> Any:
        with torch.inference_mode():
            return mel(x)

    return run


def make_torch_melspectrogram_re_im(clips: np.ndarray) -> Callable[[], Any]:
    """librosa's default mel in torch with the |X|**2 form W1 and W5a keep: ``torch.stft``
    (centred, zero padding), ``re**2 + im**2``, librosa's own Slaney filters as a matmul
    (``torchaudio.transforms.MelSpectrogram`` computes ``abs().pow(2)``: 1.6-1.8x slower here)."""
    import librosa

    torch = import_torch()
    filters = torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=2048).astype(np.float32))  # [128, 1025]
    window = torch.hann_window(2048)
    x = torch.from_numpy(np.ascontiguousarray(clips, np.float32))

    def run() -> Any:
        with torch.inference_mode():
            s = torch.stft(x, 2048, 512, 2048, window, center=True, pad_mode="constant", return_complex=True)
            return filters @ (s.real**2 + s.imag**2)

    return run


def make_librosa_melspectrogram_loop(clips: np.ndarray) -> Callable[[], Any]:
    """``librosa.feature.melspectrogram`` per clip."""
    import librosa

    def run() -> Any:
        return [librosa.feature.melspectrogram(y=c, sr=SAMPLE_RATE) for c in clips]

    return run


# ------------------------------------------------------------------------------------------ registry

Factory = Callable[[np.ndarray], Callable[[], Any]]
WORKLOADS: dict[str, tuple[str, Callable[[], np.ndarray], list[tuple[str, Factory, str]]]] = {
    "whisper": (
        f"W5a: Whisper features, {WHISPER_CLIPS} x {WHISPER_SECONDS} s at 16 kHz, n_mels {WHISPER_MELS}",
        whisper_clips,
        [
            ("openai-whisper batched [8, 480000]", make_openai_whisper_batched, "max over the whole batch"),
            ("openai-whisper per clip", make_openai_whisper_loop, ""),
            ("transformers WhisperFE batched (list)", make_transformers_whisper_list, ""),
            ("transformers WhisperFE batched (ndarray)", make_transformers_whisper_array, ""),
            ("transformers WhisperFE per clip", make_transformers_whisper_loop, ""),
        ],
    ),
    "kaldi": (
        f"W5b: Kaldi fbank (23 bins, defaults), {KALDI_CLIPS} x {KALDI_SECONDS} s at 16 kHz",
        kaldi_clips,
        [
            ("kaldi-native-fbank OnlineFbank per clip", make_kaldi_native_fbank, "no batch API"),
            ("torchaudio.compliance.kaldi.fbank per clip", make_torchaudio_kaldi_fbank, "takes one waveform"),
        ],
    ),
    "librosa": (
        f"W5c: librosa default melspectrogram, {LIBROSA_CLIPS} x {LIBROSA_SECONDS} s at 16 kHz",
        librosa_clips,
        [
            ("librosa melspectrogram batched y=[64, L]", make_librosa_melspectrogram_batched, ""),
            ("librosa melspectrogram per clip", make_librosa_melspectrogram_loop, ""),
        ],
    ),
}


def interleaved(runs: dict[str, Callable[[], Any]], rounds: int, warmup: int = WARMUP) -> dict[str, list[float]]:
    """Warm each up, then time all of them interleaved (order rotated each round); seconds per call."""
    names = list(runs)
    for name in names:
        for _ in range(warmup):
            runs[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def time_workload(key: str, rounds: int) -> tuple[str, list[tuple[str, float | None, float | None, str]]]:
    title, clips_fn, peers = WORKLOADS[key]
    clips = clips_fn()
    runs, rows, notes = {}, [], {}
    for name, factory, note in peers:
        try:
            runs[name] = factory(clips)
            notes[name] = note
        except ImportError as err:
            rows.append((name, None, None, f"skipped: {err}"))
    times = interleaved(runs, rounds) if runs else {}
    for name, ts in times.items():
        rows.append((name, min(ts), statistics.median(ts), notes[name]))
    return title, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one or two rounds (a smoke test)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated: " + ",".join(WORKLOADS))
    args = parser.parse_args(argv)
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    try:
        torch = import_torch()
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ", end="")
    except ImportError:
        print("torch missing; ", end="")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs\n")
    for key in args.only.split(","):
        title, rows = time_workload(key, rounds[key])
        timed = [r for r in rows if r[1] is not None]
        best = min((r[1] for r in timed), default=None)
        print(f"{title}  (min of {rounds[key]} interleaved rounds)")
        print(f"  {'peer (form)':46s} {'min ms':>10s} {'median ms':>10s} {'vs fastest':>10s}  note")
        for name, lo, med, note in rows:
            if lo is None:
                print(f"  {name:46s} {'-':>10s} {'-':>10s} {'-':>10s}  {note}")
            else:
                mark = " *" if lo == best else ""
                print(f"  {name:46s} {lo * 1e3:10.1f} {med * 1e3:10.1f} {lo / best:9.2f}x  {note}{mark}")
        if timed:
            fastest = min(timed, key=lambda r: r[1])
            print(f"  fastest: {fastest[0]} ({fastest[1] * 1e3:.1f} ms)")
        print()


if __name__ == "__main__":
    main()
