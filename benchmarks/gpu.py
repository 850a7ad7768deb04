"""jaxspec against torch.stft and torchaudio on an accelerator (issue 6, item 4).

One process; inside it each workload's contenders are warmed up, then timed interleaved
over rounds (order rotating; min and median reported), with the device synchronized
before the clock stops. Errors are against the float64 NumPy reference of
``benchmarks/run.py`` (on the first rows of large batches, to keep the reference cheap).

Workloads:
  G1   spectrogram of B clips x 1 s at 16 kHz, default config, B in (64, 1024, 4096).
  G2   spectrogram of one 10-minute clip.
  G3   resample 10 s at 44.1 kHz and 48 kHz -> 16 kHz, one clip and a batch of 64;
       SNR on 1 kHz and 7 kHz sines.
  G4   the presets (W5 of run.py) on the device: presets.whisper() on B x 30 s (B = 8, 64) vs
       openai-whisper's log_mel_spectrogram (the package's when importable; its code transcribed,
       max per clip, always); presets.kaldi_fbank() on B x 3 s (B = 64, 1024) vs
       torchaudio.compliance.kaldi.fbank per clip; presets.librosa_melspectrogram(sr=16000) on
       B x 1 s (B = 64, 1024) vs torchaudio.transforms.MelSpectrogram set to librosa's defaults.
       Errors vs each peer by SPEC 7's tolerances (run.py's rules).
  G5   SpecAugment: torchaudio_melspectrogram(n_mels=80) + FrequencyMask(2, (0, 27)) +
       TimeMask(2, (0, 100)) on 256 x 4 s vs torchaudio MelSpectrogram + FrequencyMasking(27) x 2 +
       TimeMasking(100) x 2 (iid_masks); skipped when jaxspec has no FrequencyMask.
  G6   CPU-only workarounds cost nothing here: spectrogram of 64 x 4 s as the library runs it
       (_xla.map_rows: row blocks on CPU only, via lax.platform_dependent) vs a plain jax.vmap of
       the one-clip call, keyless and with a key, plus the `while` loops in each compiled program.

Targets (issue 6): G1 at 1024 clips >= 1.5x torch.stft; G3 >= 120 dB SNR and faster
than ``torchaudio.transforms.Resample`` in its faster setting: its defaults and "kaiser_best"
are both timed and the faster kept whatever its SNR (printed beside; no error bound applies
to the resampler peers). G4 (issue 15): >= 2x the fastest peer at the largest batch (reported at each).
G6: the library within 10 % of the plain vmap on an accelerator (on CPU the blocks win).

Usage (on the lent GPU machine, see benchmarks/README.md for the wheels to carry)::

    python benchmarks/gpu.py                 # torch on cuda when available, else cpu
    python benchmarks/gpu.py --quick --device cpu
    python benchmarks/gpu.py --only G4,G5,G6
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import (  # noqa: E402
    LONG_SECONDS,
    RESAMPLE_HEADER,
    SAMPLE_RATE,
    TIMING,
    Contender,
    check,
    formulations_table,
    interleaved,
    kept,
    reference_spectrogram,
    relative_error,
    render_speed,
    resample_cells,
    resample_rows,
    row_of,
    sines_at,
    summarize,
    table,
    test_signal,
    timing_cells,
    torch_contenders,
    valid,
    write_json,
)

BATCHES = (64, 1024, 4096)
REFERENCE_ROWS = 8  # rows of a batch compared with the float64 reference
RATES = (44100, 48000)
RESAMPLE_BATCH = 64
# torchaudio's documented "kaiser_best" settings (librosa's resampy equivalent)
KAISER_BEST = dict(lowpass_filter_width=64, rolloff=0.9475937167399596, resampling_method="sinc_interp_kaiser",
                   beta=14.769656459379492)  # fmt: skip
NOTES = {
    "defaults": "sinc_interp_hann, width 6, rolloff 0.99",
    "kaiser_best": "sinc_interp_kaiser, width 64, rolloff 0.948",
}


def torch_sync(torch: Any, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ------------------------------------------------------------------ spectrogram
def spectrogram_contenders(x: np.ndarray, device: str) -> list[Contender]:
    import jax

    import jaxspec

    fn, config, xj = jax.jit(jaxspec.spectrogram), jaxspec.SpectrogramConfig(), jax.device_put(x)
    first_rows = lambda out: np.asarray(out[..., :REFERENCE_ROWS, :, :] if out.ndim == 3 else out)
    contenders = [
        Contender(
            "jaxspec (jit)", lambda: fn(config, xj).block_until_ready(), first_rows, formulation="jax.jit(spectrogram)"
        )
    ]
    try:
        import torch
    except ImportError:
        return contenders
    # Every torch formulation of run.py (|X|^2 forms, inference_mode, unfold + rfft), on the device.
    peers = torch_contenders(
        x, device, lambda: torch_sync(torch, device), looped=x.shape[0] <= 64 if x.ndim == 2 else False
    )
    for c in peers:
        c.result = lambda out, mapped=c.result: mapped(out[:REFERENCE_ROWS] if out.ndim == 3 else out)
    return contenders + peers


def spectrogram_rows(x: np.ndarray, device: str, rounds: int) -> list[dict[str, Any]]:
    ref = reference_spectrogram(x[:REFERENCE_ROWS] if x.ndim == 2 else x)
    contenders = spectrogram_contenders(x, device)
    rows = [row_of(c, error=relative_error(c.result(c.run()), ref)) for c in contenders]
    times = interleaved(contenders, rounds)
    for row in rows:
        row["times"] = times[row["key"]]
    return rows


# ------------------------------------------------------------------ resampling
def resample_contenders(sines: dict[float, np.ndarray], orig: int, device: str) -> list[Contender]:
    """Each contender's ``apply`` maps a NumPy ``[..., n]`` input to its ``[..., m]`` output."""
    import jax

    import jaxspec

    contenders = []
    staged = {f: jax.device_put(s) for f, s in sines.items()}
    key = next(iter(sines))
    fn = jax.jit(jaxspec.resample, static_argnums=(1, 2))
    contenders.append(
        Contender(
            "jaxspec.resample (jit)",
            lambda: fn(staged[key], orig, SAMPLE_RATE).block_until_ready(),
            apply=lambda s: np.asarray(fn(jax.device_put(s), orig, SAMPLE_RATE)),
        )
    )
    try:
        import peers_features as pf
        import torch

        torchaudio = pf.import_torchaudio()
    except ImportError:
        return contenders
    on_device = {f: torch.from_numpy(s).to(device) for f, s in sines.items()}
    for label, options in (("defaults", {}), ("kaiser_best", KAISER_BEST)):
        transform = torchaudio.transforms.Resample(orig, SAMPLE_RATE, **options).to(device)

        def run(transform: Any = transform) -> Any:
            out = transform(on_device[key])
            torch_sync(torch, device)
            return out

        def apply(s: np.ndarray, transform: Any = transform) -> np.ndarray:
            return transform(torch.from_numpy(s).to(device)).cpu().numpy()

        contenders.append(
            Contender(
                f"torchaudio Resample ({label}, {device})",
                run,
                note=NOTES[label],
                apply=apply,
            )
        )
    return contenders


def first_output_row(c: Contender, x: np.ndarray) -> np.ndarray:
    """The first signal of a contender's (possibly batched) output."""
    y = np.asarray(c.apply(x))
    return y.reshape(-1, y.shape[-1])[0]


def resampling_rows(rounds: int, device: str, batch: int) -> list[dict[str, Any]]:
    rows = []
    for orig in RATES:
        sines = sines_at(orig)
        if batch > 1:
            sines = {f: np.broadcast_to(s, (batch, s.shape[0])).copy() for f, s in sines.items()}
        contenders = resample_contenders(sines, orig, device)
        rows += resample_rows(contenders, sines, f"{orig / 1000:g}k -> 16k, {batch} x 10 s", rounds, first_output_row)
    return rows


# ------------------------------------------------------------------ G4: the presets (issue 15 item 5)
PRESET_BATCHES = {"whisper": (8, 64), "kaldi": (64, 1024), "librosa": (64, 1024)}
PRESET_SECONDS = {"whisper": 30, "kaldi": 3, "librosa": 1}
PRESET_WORKLOAD = {"whisper": "W5a", "kaldi": "W5b", "librosa": "W5c"}  # run.py's error rules (SPEC 7)


def slaney_mel(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)`` (Slaney scale and area norm), float32
    ``[n_mels, n_fft // 2 + 1]``: librosa is not on the GPU machine."""
    fmax = sr / 2.0 if fmax is None else fmax
    step, log_step = 200.0 / 3.0, math.log(6.4) / 27.0

    def to_mel(f: np.ndarray) -> np.ndarray:
        f = np.atleast_1d(np.asarray(f, np.float64))
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / log_step, f / step)

    def to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), step * m)

    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(fmin)[0], to_mel(fmax)[0], n_mels + 2))
    ramps = edges[:, None] - freqs[None, :]
    widths = np.diff(edges)
    weights = np.maximum(0.0, np.minimum(-ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


def preset_clips(kind: str, batch: int) -> np.ndarray:
    import peers_features as pf

    scale = 32768.0 if kind == "kaldi" else 1.0  # Kaldi sees int16-scale samples
    return pf.test_clips(batch, PRESET_SECONDS[kind], seed={"whisper": 5, "kaldi": 6, "librosa": 7}[kind], scale=scale)


def preset_config(kind: str) -> Any:
    from jaxspec import presets

    if kind == "whisper":
        return presets.whisper()
    if kind == "kaldi":
        return presets.kaldi_fbank()
    return presets.librosa_melspectrogram(sr=SAMPLE_RATE)


def whisper_peers(torch: Any, x: Any, device: str, sync: Any, notes: list[str]) -> list[tuple[str, str, Any, str]]:
    """openai-whisper's ``log_mel_spectrogram`` on ``device``: the package's own when importable,
    and its code transcribed (whisper/audio.py) with the max taken per clip (the same work as
    jaxspec) batched and per clip."""
    out = []
    try:
        import whisper.audio as wa

        filters = wa.mel_filters(device, 80)

        def own_batched() -> Any:
            with torch.inference_mode():
                r = wa.log_mel_spectrogram(x, 80)
            sync()
            return r

        def own_loop() -> Any:
            with torch.inference_mode():
                r = [wa.log_mel_spectrogram(row, 80) for row in x]
            sync()
            return r

        out += [
            (
                "openai-whisper",
                "log_mel_spectrogram(batched tensor), inference_mode",
                own_batched,
                "max − 8 floor over the whole batch",
            ),
            ("openai-whisper", "log_mel_spectrogram per clip, inference_mode", own_loop, ""),
        ]
    except ImportError as error:  # its code transcribed below needs torch alone
        notes.append(f"whisper: openai-whisper's own log_mel_spectrogram skipped ({missing(error)})")
        filters = torch.from_numpy(slaney_mel(SAMPLE_RATE, 400, 80)).to(device)
    window = torch.hann_window(400, device=device)

    def log_mel(audio: Any) -> Any:  # whisper/audio.py log_mel_spectrogram, max per clip
        stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
        magnitudes = stft[..., :-1].abs() ** 2
        log_spec = torch.clamp(filters @ magnitudes, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
        return (log_spec + 4.0) / 4.0

    def batched() -> Any:
        with torch.inference_mode():
            r = log_mel(x)
        sync()
        return r

    def loop() -> Any:
        with torch.inference_mode():
            r = [log_mel(row) for row in x]
        sync()
        return r

    return out + [
        ("openai-whisper (code transcribed)", "batched tensor, max per clip, inference_mode", batched, ""),
        ("openai-whisper (code transcribed)", "per clip, inference_mode", loop, ""),
    ]


def kaldi_peers(torch: Any, x: Any, device: str, sync: Any, notes: list[str]) -> list[tuple[str, str, Any, str]]:
    """``torchaudio.compliance.kaldi.fbank`` per clip on ``device`` (it takes one waveform), and
    its code transcribed in torch on the whole batch (per clip, the loop measures kernel launches)."""
    import peers_features as pf

    transcribed = pf.kaldi_fbank_transcribed(device)

    def batched() -> Any:
        with torch.inference_mode():
            r = transcribed(x)
        sync()
        return r

    out = [("torchaudio's kaldi.fbank (code transcribed)", f"batched on {device}, re/im", batched, "")]
    try:
        fbank = pf.import_torchaudio().compliance.kaldi.fbank
    except ImportError as error:  # the transcribed peer above needs torch alone: keep it
        notes.append(f"kaldi: torchaudio.compliance.kaldi.fbank skipped ({missing(error)})")
        return out

    def loop() -> Any:
        with torch.inference_mode():
            r = [fbank(row[None]) for row in x]
        sync()
        return r

    return out + [("torchaudio.compliance.kaldi.fbank", f"per clip on {device}, inference_mode", loop, "one waveform")]


def librosa_peers(torch: Any, x: Any, device: str, sync: Any, notes: list[str]) -> list[tuple[str, str, Any, str]]:
    """``torchaudio.transforms.MelSpectrogram`` set to librosa's defaults (n_fft 2048, hop 512,
    128 Slaney mels with Slaney norm, centred with zero padding), batched on ``device``; and
    ``torch.stft`` with librosa's mel filters (by ``slaney_mel``: librosa is not on the GPU machine)."""
    import peers_features as pf

    filters = torch.from_numpy(slaney_mel(SAMPLE_RATE, 2048, 128)).to(device)
    window = torch.hann_window(2048, device=device)

    def re_im() -> Any:  # the |X|**2 form W1 keeps; MelSpectrogram computes abs().pow(2)
        with torch.inference_mode():
            s = torch.stft(x, 2048, 512, 2048, window, center=True, pad_mode="constant", return_complex=True)
            r = filters @ (s.real**2 + s.imag**2)
        sync()
        return r

    out = [("torch.stft + librosa's mel filters", f"batched on {device}, re**2 + im**2", re_im, "")]
    try:
        torchaudio = pf.import_torchaudio()
    except ImportError as error:  # the torch.stft peer above needs torch alone: keep it
        notes.append(f"librosa: torchaudio MelSpectrogram skipped ({missing(error)})")
        return out
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=2048, hop_length=512, n_mels=128, norm="slaney", mel_scale="slaney",
        center=True, pad_mode="constant", power=2.0,
    ).to(device)  # fmt: skip

    def batched() -> Any:
        with torch.inference_mode():
            r = mel(x)
        sync()
        return r

    return out + [("torchaudio MelSpectrogram (librosa's defaults)", f"batched on {device}", batched, "inference_mode")]


PRESET_PEERS = {"whisper": whisper_peers, "kaldi": kaldi_peers, "librosa": librosa_peers}


def preset_rows(kind: str, batch: int, device: str, rounds: int) -> tuple[list[dict[str, Any]], list[str]]:
    """jitted jaxspec with the preset vs the torch peers on ``device``; errors by SPEC 7 (run.py's rules)."""
    import jax
    from run import peer_features, w5_error, w5_rows

    import jaxspec

    clips, config = preset_clips(kind, batch), preset_config(kind)
    fn, xj = jax.jit(jaxspec.spectrogram), jax.device_put(clips)
    contenders = [
        Contender("jaxspec (jit)", lambda: fn(config, xj).block_until_ready(), formulation="jax.jit(spectrogram)")
    ]
    out = np.asarray(fn(config, xj), np.float64)
    errors, notes = {}, []
    try:
        torch = set_threads()
        xt = torch.from_numpy(clips).to(device)
        peers = PRESET_PEERS[kind](torch, xt, device, lambda: torch_sync(torch, device), notes)
    except ImportError as error:  # torch itself: each peer drops its own optional library above
        peers = []
        notes.append(f"{kind}: torch peers skipped ({missing(error)})")
    for name, formulation, run, note in peers:
        c = Contender(name, run, note=note, formulation=formulation)
        errors[c.key] = w5_error(PRESET_WORKLOAD[kind], out, peer_features(run(), kind == "kaldi"))
        contenders.append(c)
    return w5_rows(contenders, errors, rounds), notes


def set_threads() -> Any:
    from run import set_torch_threads

    return set_torch_threads()


# ------------------------------------------------------------------ G5: SpecAugment
SPECAUG_SHAPE = (256, 4 * SAMPLE_RATE)


def specaugment_rows(device: str, rounds: int, shape: tuple[int, int]) -> tuple[list[dict[str, Any]], list[str]]:
    """torchaudio's mel (n_mels 80) + 2 frequency masks (F = 27) + 2 time masks (T = 100), iid per
    example, vs the same in jaxspec (``FrequencyMask(2, (0, 27))``, ``TimeMask(2, (0, 100))``), and
    each without masks (the masks' own cost). Skipped when jaxspec has no ``FrequencyMask``."""
    import jax

    import jaxspec
    from jaxspec import presets

    if not hasattr(jaxspec, "FrequencyMask"):
        return [], ["SpecAugment: skipped (this jaxspec has no FrequencyMask)"]
    try:
        augmentation = jaxspec.Augmentation(
            frequency_mask=jaxspec.FrequencyMask(2, (0, 27)), time_mask=jaxspec.TimeMask(2, (0, 100))
        )
        masked = presets.torchaudio_melspectrogram(n_mels=80, augmentation=augmentation)
    except (TypeError, ValueError) as error:  # the API changed: say so rather than fail the run
        return [], [f"SpecAugment: skipped ({type(error).__name__}: {error})"]
    plain = presets.torchaudio_melspectrogram(n_mels=80)
    x = test_signal(shape)
    fn, xj = jax.jit(jaxspec.spectrogram), jax.device_put(x)
    keys = iter(jax.random.split(jax.random.key(0), 100_000))
    contenders = [
        Contender("jaxspec (jit), masks", lambda: fn(masked, xj, next(keys)).block_until_ready(),
                  formulation="jax.jit(spectrogram)(torchaudio_melspectrogram(n_mels=80, augmentation=masks), x, key)"),
        Contender("jaxspec (jit), no masks", lambda: fn(plain, xj).block_until_ready(),
                  formulation="jax.jit(spectrogram)(torchaudio_melspectrogram(n_mels=80), x)", note="not a peer"),
    ]  # fmt: skip
    notes = []
    try:
        torch = set_threads()
        import peers_features as pf

        ta = pf.import_torchaudio()
        xt = torch.from_numpy(x).to(device)
        mel = ta.transforms.MelSpectrogram(sample_rate=SAMPLE_RATE, n_mels=80).to(device)
        fm = ta.transforms.FrequencyMasking(27, iid_masks=True).to(device)
        tm = ta.transforms.TimeMasking(100, iid_masks=True).to(device)

        def torch_masked() -> Any:
            with torch.inference_mode():
                s = mel(xt)[:, None]  # iid_masks needs [batch, channel, freq, time]
                s = tm(tm(fm(fm(s))))
            torch_sync(torch, device)
            return s

        def torch_plain() -> Any:
            with torch.inference_mode():
                s = mel(xt)
            torch_sync(torch, device)
            return s

        contenders += [
            Contender("torchaudio", torch_masked,
                      formulation=f"MelSpectrogram + 2 FrequencyMasking(27) + 2 TimeMasking(100), iid, {device}"),
            Contender("torchaudio (no masks)", torch_plain, formulation=f"MelSpectrogram, {device}", note="not a peer"),
        ]  # fmt: skip
    except ImportError as error:
        notes.append(f"SpecAugment: torchaudio skipped ({missing(error)})")
    times = interleaved(contenders, rounds, warmup=1)
    text = "masks are random: no error column"
    return [row_of(c, error=0.0, ok=True, error_text=text, times=times[c.key]) for c in contenders], notes


# ------------------------------------------------------------------ G6: CPU-only workarounds cost nothing here
WORKAROUND_SHAPE = (64, 4 * SAMPLE_RATE)


def workaround_rows(rounds: int, shape: tuple[int, int]) -> tuple[list[dict[str, Any]], list[str]]:
    """``spectrogram`` of 64 x 4 s as the library runs it (``_xla.map_rows``: row blocks in a
    ``fori_loop`` on CPU only, chosen by ``lax.platform_dependent``) vs a plain ``jax.vmap`` of the
    one-clip call, keyless and with a key; and the ``while`` loops in each compiled program."""
    import jax

    import jaxspec

    x = jax.device_put(test_signal(shape))
    gain = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5)))
    key = jax.random.key(0)
    rows, notes = [], []
    for label, config, with_key in (("keyless", jaxspec.SpectrogramConfig(), False), ("volume + key", gain, True)):
        if with_key:
            library = jax.jit(lambda x: jaxspec.spectrogram(gain, x, key))
            # the row keys are derived inside the timed call, as the library derives them
            # (fold_in(key, i), its batch rule): the same work on both sides
            plain = jax.jit(
                lambda x, k: jax.vmap(lambda r, i: jaxspec.spectrogram(gain, r, jax.random.fold_in(k, i)))(
                    x, jax.numpy.arange(x.shape[0], dtype=jax.numpy.uint32)
                )
            )
            args_plain: tuple = (x, key)
        else:
            library = jax.jit(lambda x, c=config: jaxspec.spectrogram(c, x))
            plain = jax.jit(jax.vmap(lambda r, c=config: jaxspec.spectrogram(c, r)))
            args_plain = (x,)
        loops = {
            "library": library.lower(x).compile().as_text().count(" while("),
            "vmap": plain.lower(*args_plain).compile().as_text().count(" while("),
        }
        notes.append(
            f"{label}: `while` loops in the compiled program: library {loops['library']}, plain vmap {loops['vmap']}"
        )
        contenders = [
            Contender(f"jaxspec.spectrogram ({label})", lambda f=library: f(x).block_until_ready(),
                      formulation=f"jax.jit(spectrogram)(config, x{list(shape)}" + (", key)" if with_key else ")")),
            Contender(f"plain jax.vmap ({label})", lambda f=plain, a=args_plain: f(*a).block_until_ready(),
                      formulation="jax.jit(jax.vmap(one-clip spectrogram))"),
        ]  # fmt: skip
        a = np.asarray(contenders[0].run(), np.float64)
        b = np.asarray(contenders[1].run(), np.float64)
        err = float(np.linalg.norm(a - b) / np.linalg.norm(b))
        times = interleaved(contenders, rounds, warmup=1)
        for c in contenders:
            rows.append({**row_of(c, error=err, times=times[c.key]), "case": label, "loops": loops})
    return rows, notes


# ------------------------------------------------------------------ report
def speed_table(rows: list[dict[str, Any]], label: str) -> str:
    """One row per contender: its fastest valid formulation (all of them listed below it)."""
    base = summarize(rows[0]["times"])
    body = [
        [label, r["name"], r["formulation"], *timing_cells(r["times"], base), f"{r['error']:.2e}", r["note"]]
        for r in kept(rows)
    ]
    text = table(["workload", "contender", "kept formulation", *TIMING, "rel. error", "note"], body)
    return text + f"\n\nAll formulations, {label}:\n\n" + formulations_table(rows, base)


def resample_table(rows: list[dict[str, Any]]) -> tuple[str, list[list[str]]]:
    body, targets = [], []
    for rate in dict.fromkeys(r["rate"] for r in rows):
        group = [r for r in rows if r["rate"] == rate]
        js = group[0]
        body += resample_cells(rate, group, js)
        snr = min(js["snr_1k"], js["snr_7k"])
        targets.append([f"{rate}: jaxspec SNR ≥ 120 dB", f"{snr:.1f} dB", check(snr >= 120.0)])
        peers = [r for r in group if r["name"].startswith("torchaudio")]
        if peers:  # the fastest of its settings (issue 15's rule): kaiser_best beat the defaults at 64 clips
            fastest = min(peers, key=lambda r: min(r["times"]))
            ratio = min(fastest["times"]) / min(js["times"])
            label = f"{ratio:.2f}× vs {fastest['name']}"
            targets.append([f"{rate}: faster than the fastest torchaudio Resample (min)", label, check(ratio > 1.0)])
    return table(RESAMPLE_HEADER, body), targets


def machine(device: str) -> str:
    import importlib.metadata

    import jax

    versions = []
    for package in ("jax", "jaxlib", "torch", "torchaudio", "numpy"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    line = f"JAX devices: {', '.join(str(d) for d in jax.devices())}; torch device: {device}"
    try:
        import torch

        if device.startswith("cuda"):
            line += f" ({torch.cuda.get_device_name()})"
    except ImportError:
        pass
    return line + "\nVersions: " + ", ".join(versions)


def missing(error: ImportError) -> str:
    return f"{error.name} not installed" if error.name else str(error)


def jax_backend() -> str:
    import jax

    return jax.default_backend()


def pick_device(requested: str | None) -> str:
    if requested:
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


SECTIONS = ("G1", "G2", "G3", "G4", "G5", "G6")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--quick", action="store_true", help="few rounds and the smallest batches: a smoke test")
    parser.add_argument("--json", type=Path, help="write every raw result to this file")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    only = {w.strip() for w in args.only.split(",") if w.strip()}
    unknown = sorted(only - set(SECTIONS))  # as run.py: an unknown name (or g4) would run nothing and pass
    if unknown or not only:
        what = f"unknown section(s) {unknown}" if unknown else "no section named"
        parser.error(f"--only {args.only!r}: {what}; choose from {', '.join(SECTIONS)}")
    device = pick_device(args.device)
    rounds = 3 if args.quick else 20
    batches = BATCHES[:1] if args.quick else BATCHES
    print(machine(device) + "\n", flush=True)
    results: dict[str, Any] = {"device": device}

    def keep(name: str, rows: Any) -> None:
        """Records a section's rows, and rewrites ``--json`` at once (atomically): a run stopped later keeps them."""
        results[name] = rows
        write_json(args.json, results)

    targets = []

    if only & {"G1", "G2"}:
        print("## G1/G2: spectrogram (default config: ws 400, hop 133, hann, power 2)\n", flush=True)
        texts = []
        for batch in batches if "G1" in only else ():
            rows = spectrogram_rows(test_signal((batch, SAMPLE_RATE)), device, rounds)
            keep(f"G1 {batch}", rows)
            texts.append(speed_table(rows, f"{batch} × 1 s"))
            if batch == 1024 and len(rows) > 1:
                best = min((r for r in rows[1:] if valid(r)), key=lambda r: min(r["times"]))
                ratio = min(best["times"]) / min(rows[0]["times"])
                label = f"{ratio:.2f}× vs {best['formulation']}"
                targets.append(["G1 1024 clips: ≥ 1.5× fastest torch.stft (min)", label, check(ratio >= 1.5)])
        if "G2" in only:
            long_rows = spectrogram_rows(test_signal((LONG_SECONDS * SAMPLE_RATE,)), device, max(3, rounds // 3))
            keep("G2", long_rows)
            texts.append(speed_table(long_rows, f"{LONG_SECONDS // 60} min"))
        print("\n\n".join(texts) + "\n", flush=True)

    if "G3" in only:
        print("## G3: resample 10 s to 16 kHz\n", flush=True)
        resample_batches = (1,) if args.quick else (1, RESAMPLE_BATCH)
        rows = [row for batch in resample_batches for row in resampling_rows(rounds, device, batch)]
        keep("G3", rows)
        text, resample_targets = resample_table(rows)
        targets += resample_targets
        print(text + "\n")

    if "G4" in only:
        for kind in PRESET_PEERS:
            sizes = PRESET_BATCHES[kind][:1] if args.quick else PRESET_BATCHES[kind]
            for batch in sizes:
                label = {
                    "whisper": "whisper()",
                    "kaldi": "kaldi_fbank()",
                    "librosa": "librosa_melspectrogram(sr=16000)",
                }
                title = f"G4 {kind}: presets.{label[kind]} on {batch} × {PRESET_SECONDS[kind]} s"
                print(f"## {title}\n", flush=True)
                rows, notes = preset_rows(kind, batch, device, max(3, rounds // 2))
                keep(f"G4 {kind} {batch}", rows)
                text, preset_targets = render_speed(
                    {"rows": rows}, 2.0, error_header="jaxspec vs this peer (SPEC 7)", install="torch"
                )
                print(text + "".join(f"\n\n- {n}" for n in notes) + "\n", flush=True)
                targets += [[f"G4 {kind} {batch} clips: {t[0]}", t[1], t[2]] for t in preset_targets]

    if "G5" in only:
        shape = (64, SAMPLE_RATE) if args.quick else SPECAUG_SHAPE
        print(f"## G5: SpecAugment on {shape[0]} × {shape[1] // SAMPLE_RATE} s (mel 80 + 2 frequency + 2 time masks)\n")
        rows, notes = specaugment_rows(device, rounds, shape)
        keep("G5", rows)
        if rows:
            torchaudio_row = lambda r: r["name"] == "torchaudio"
            text, aug_targets = render_speed({"rows": rows}, 1.0, torchaudio_row, "error", install="torchaudio")
            print(text)
            targets += [
                [f"G5 SpecAugment: {t[0]}".replace("≥ 1.0× fastest peer", "faster than torchaudio"), t[1], t[2]]
                for t in aug_targets
            ]
        print("".join(f"\n- {n}" for n in notes) + "\n", flush=True)

    if "G6" in only:
        shape = (8, SAMPLE_RATE) if args.quick else WORKAROUND_SHAPE
        print(f"## G6: CPU-only workarounds on this backend ({shape[0]} × {shape[1] // SAMPLE_RATE} s)\n", flush=True)
        rows, notes = workaround_rows(rounds, shape)
        keep("G6", rows)
        body = []
        for case in dict.fromkeys(r["case"] for r in rows):
            library, plain = [r for r in rows if r["case"] == case]
            for r in (library, plain):
                lo, mid = summarize(r["times"])
                body.append([case, r["name"], r["formulation"], f"{lo * 1e3:.4g}", f"{mid * 1e3:.4g}",
                             f"{min(plain['times']) / lo:.2f}", f"{r['error']:.1e}"])  # fmt: skip
            ratio = min(library["times"]) / min(plain["times"])
            on_cpu = jax_backend() == "cpu"
            cpu_note = " [CPU: blocks expected faster]" if on_cpu else ""
            targets.append([f"G6 {case}: library ≤ 1.1× plain vmap (min)" + cpu_note,
                            f"{ratio:.2f}×", check(ratio <= 1.1)])  # fmt: skip
        header = ["case", "contender", "formulation", "min ms", "median ms", "plain vmap / this (min)", "rel. diff"]
        print(table(header, body) + "".join(f"\n\n- {n}" for n in notes) + "\n", flush=True)

    print("## Targets\n\n" + table(["target", "measured", ""], targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
