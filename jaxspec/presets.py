"""Configs that reproduce other libraries' features, with those libraries' own keyword
names and defaults (SPEC section 7). Each returns an ordinary ``SpectrogramConfig``
(it saves to JSON and takes ``augmentation=``); ``spectrogram(config, x)`` is then
``[frames, features]``, the source's output transposed.

Inputs must already be at the preset's rate: ``encode`` resamples others with jaxspec's
resampler, which keeps 0.9 of the lower Nyquist frequency (torchaudio's ``resample``
keeps 0.99 and Whisper's loader uses ffmpeg); to match those numbers exactly, resample
with the source's tool and pass the samples at the preset's rate.

Keywords the source has but jaxspec does not implement (e.g. librosa's ``dtype``,
``vtln_warp != 1``, Kaldi's ``htk_compat`` in ``kaldi_mfcc``, ``min_duration > 0``)
raise ``ConfigError`` naming them.

>>> from jaxspec.presets import librosa_melspectrogram
>>> config = librosa_melspectrogram(sr=16000, n_mels=40)
>>> config.num_features, config.num_frames(16000)
(40, 32)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from . import limits
from ._preset_args import (
    Caller,
    booleans,
    finite_numbers,
    integer,
    kaldi_samples,
    kaldi_window,
    keyword_dict,
    keywords,
    mel_band,
    mel_power,
    refuse,
    require,
    stft_fields,
    takes_keywords_of,
    torch_window,
    whole_rate,
)
from .config import SpectrogramConfig
from .features import DCT, Decibels, Log, MelFilterbank, SubtractMean, UseEnergy, WhisperLog
from .framing import Centered, Dither, Kaldi, LogEnergy, PreEmphasis, RemoveDC
from .windows import window_values

__all__ = [
    "kaldi_fbank",
    "kaldi_mfcc",
    "librosa_melspectrogram",
    "librosa_mfcc",
    "torchaudio_melspectrogram",
    "torchaudio_mfcc",
    "whisper",
]


def _librosa_mel(
    name: str | Caller,
    *,
    sr=22050,
    n_fft=2048,
    hop_length=512,
    win_length=None,
    window="hann",
    center=True,
    pad_mode="constant",
    power=2.0,
    n_mels=128,
    fmin=0.0,
    fmax=None,
    htk=False,
    norm="slaney",
    augmentation=None,
    **unsupported,
) -> SpectrogramConfig:
    """``librosa_melspectrogram`` for the preset ``name`` the user called."""
    refuse(name, unsupported, _librosa_mel)
    booleans(name, htk=htk)
    require(name, "norm", norm, norm in ("slaney", None), "jaxspec supports 'slaney' or None")
    rate = whole_rate(name, "sr", sr)
    fields = stft_fields(name, n_fft, win_length, hop_length, window, center, pad_mode, 4)
    why = "librosa takes it as it is: every filter would be empty"
    band = mel_band(name, ("n_mels", "fmin", "fmax"), n_mels, fmin, fmax, rate / 2.0, why)
    mel, spectrum = MelFilterbank(*band, "htk" if htk else "slaney", norm), mel_power(name, power)
    return SpectrogramConfig(sample_rate=rate, power=spectrum, features=(mel,), augmentation=augmentation, **fields)


@takes_keywords_of(_librosa_mel)
def librosa_melspectrogram(**kwargs: Any) -> SpectrogramConfig:
    """``librosa.feature.melspectrogram(y=x, **kw).T`` (librosa 0.10 / 0.11 defaults: note
    ``hop_length=512`` whatever ``n_fft``; ``hop_length=None`` = ``win_length // 4``).

    >>> from jaxspec.presets import librosa_melspectrogram
    >>> librosa_melspectrogram().output_shape(22050)
    (44, 128)
    """
    return _librosa_mel("librosa_melspectrogram", **kwargs)


def librosa_mfcc(
    *,
    sr=22050,
    n_mfcc=20,
    dct_type=2,
    norm="ortho",
    lifter=0,
    mel_norm="slaney",
    augmentation=None,
    **melspectrogram_kwargs,
) -> SpectrogramConfig:
    """``librosa.feature.mfcc(y=x, **kw).T``: DCT-II of ``power_to_db`` (``top_db=80``,
    per example) of the mel spectrogram; ``melspectrogram_kwargs`` as
    ``librosa_melspectrogram`` takes them (``mel_norm`` is the filters' ``norm``).

    >>> from jaxspec.presets import librosa_mfcc
    >>> librosa_mfcc(sr=16000).num_features
    20
    """
    unknown = {k: v for k, v in melspectrogram_kwargs.items() if k not in keywords(librosa_melspectrogram)}
    refuse("librosa_mfcc", unknown, librosa_mfcc, librosa_melspectrogram)
    require("librosa_mfcc", "dct_type", dct_type, dct_type == 2, "jaxspec implements the DCT-II only")
    norm = None if norm == "backward" else norm  # scipy.fft.dct's name for None (librosa passes it on)
    require("librosa_mfcc", "norm", norm, norm in ("ortho", None, "forward"), "must be ortho, None, backward, forward")
    caller = Caller("librosa_mfcc", renamed=(("norm", "mel_norm"),))  # errors name librosa_mfcc's keywords
    base = _librosa_mel(caller, sr=sr, norm=mel_norm, augmentation=augmentation, **melspectrogram_kwargs)
    n_mels = base.num_features
    integer("librosa_mfcc", "n_mfcc", n_mfcc)
    finite_numbers("librosa_mfcc", lifter=lifter)
    rule = f"must be in [0, {limits.MAX_FEATURE_CONSTANT:g}] (librosa refuses a negative lifter)"
    require("librosa_mfcc", "lifter", lifter, 0 <= lifter <= limits.MAX_FEATURE_CONSTANT, rule)
    # librosa keeps the DCT's first n_mfcc rows: all n_mels of them when n_mfcc is larger,
    # and then fails to broadcast an n_mfcc-long lifter
    rule = f"must be <= n_mels={n_mels} with a lifter (librosa fails to broadcast it)"
    require("librosa_mfcc", "n_mfcc", n_mfcc, n_mfcc <= n_mels or lifter == 0, rule)
    stages = (Decibels(ref=1.0, amin=1e-10, top_db=80.0), DCT(min(n_mfcc, n_mels), norm, lifter, "librosa"))
    return _with_features(base, base.features + stages)


def _with_features(config: SpectrogramConfig, stages: tuple) -> SpectrogramConfig:
    return dataclasses.replace(config, features=stages)


def _torchaudio_mel(
    name: str | Caller,
    *,
    sample_rate=16000,
    n_fft=400,
    win_length=None,
    hop_length=None,
    f_min=0.0,
    f_max=None,
    pad=0,
    n_mels=128,
    window_fn=None,
    power=2.0,
    normalized=False,
    wkwargs=None,
    center=True,
    pad_mode="reflect",
    onesided=None,
    norm=None,
    mel_scale="htk",
    augmentation=None,
    **unsupported,
) -> SpectrogramConfig:
    """``torchaudio_melspectrogram`` for the preset ``name`` the user called."""
    refuse(name, unsupported, _torchaudio_mel)
    window = torch_window(name, window_fn)
    require(name, "wkwargs", wkwargs, wkwargs is None, "must be None")
    require(name, "pad", pad, pad == 0, "jaxspec does not pad before the STFT; pad the waveform yourself")
    require(name, "onesided", onesided, onesided is None or isinstance(onesided, bool), "must be a bool or None")
    require(name, "norm", norm, norm in ("slaney", None), "must be 'slaney' or None")
    require(name, "mel_scale", mel_scale, mel_scale in ("htk", "slaney"), "must be 'htk' or 'slaney'")
    fields = stft_fields(name, n_fft, win_length, hop_length, window, center, pad_mode, 2)
    if normalized is not False:  # the spectrum divided by a constant: scale the window instead
        ok = normalized in (True, "window", "frame_length")
        require(name, "normalized", normalized, ok, "must be False, True, 'window' or 'frame_length'")
        window = fields["window_function"]
        values = window_values(window, fields["window_size"])
        if normalized == "frame_length":
            fields["window_function"] = tuple(values / math.sqrt(fields["fft_size"]))
        else:
            fields["window_function"] = tuple(values / np.sqrt(np.sum(values**2)))
    rate = whole_rate(name, "sample_rate", sample_rate)  # before rate // 2 (None was a TypeError)
    why, top = "torchaudio refuses a negative one, and 0 gives NaN", float(rate // 2)
    n, fmin, fmax = mel_band(name, ("n_mels", "f_min", "f_max"), n_mels, f_min, f_max, top, why)
    mel = MelFilterbank(n, fmin, fmax or top, mel_scale, norm, frequencies="linspace")  # fmax: None or > 0
    spectrum = mel_power(name, power)
    return SpectrogramConfig(sample_rate=rate, power=spectrum, features=(mel,), augmentation=augmentation, **fields)


@takes_keywords_of(_torchaudio_mel)
def torchaudio_melspectrogram(**kwargs: Any) -> SpectrogramConfig:
    """``torchaudio.transforms.MelSpectrogram(**kw)(x).T``: periodic Hann (``window_fn``: torch's
    Hann, Hamming or Blackman), bin frequencies
    ``linspace(0, sample_rate // 2, n_fft // 2 + 1)``, ``f_max = sample_rate // 2``.

    >>> from jaxspec.presets import torchaudio_melspectrogram
    >>> torchaudio_melspectrogram().output_shape(16000)
    (81, 128)
    """
    return _torchaudio_mel("torchaudio_melspectrogram", **kwargs)


def torchaudio_mfcc(
    *,
    sample_rate=16000,
    n_mfcc=40,
    dct_type=2,
    norm="ortho",
    log_mels=False,
    melkwargs=None,
    augmentation=None,
    **unsupported,
) -> SpectrogramConfig:
    """``torchaudio.transforms.MFCC(**kw)(x).T``: DCT-II of ``AmplitudeToDB(top_db=80)``
    (per example) of the mel spectrogram, or of ``log(mel + 1e-6)`` with ``log_mels``.

    >>> from jaxspec.presets import torchaudio_mfcc
    >>> torchaudio_mfcc(melkwargs={"n_mels": 64}).num_features
    40
    """
    refuse("torchaudio_mfcc", unsupported, torchaudio_mfcc, nested=("melkwargs", _torchaudio_mel))
    require("torchaudio_mfcc", "dct_type", dct_type, dct_type == 2, "torchaudio supports the DCT-II only")
    require("torchaudio_mfcc", "norm", norm, norm in ("ortho", None), "must be 'ortho' or None")
    booleans("torchaudio_mfcc", log_mels=log_mels)
    melkwargs = keyword_dict("torchaudio_mfcc", "melkwargs", melkwargs)
    twice = sorted({"sample_rate", "augmentation"} & set(melkwargs))
    rule = f"must not hold {twice}: pass them to torchaudio_mfcc"
    require("torchaudio_mfcc", "melkwargs", melkwargs, not twice, rule)
    own = (("sample_rate", "sample_rate"), ("augmentation", "augmentation"))  # the others: melkwargs['n_fft']
    caller = Caller("torchaudio_mfcc", own, nested="melkwargs")
    base = _torchaudio_mel(caller, sample_rate=sample_rate, augmentation=augmentation, **melkwargs)
    log = Log(floor=0.0, offset=1e-6) if log_mels else Decibels(ref=1.0, amin=1e-10, top_db=80.0)
    integer("torchaudio_mfcc", "n_mfcc", n_mfcc)
    rule = f"must be <= n_mels={base.num_features} (torchaudio refuses more coefficients than mel bins)"
    require("torchaudio_mfcc", "n_mfcc", n_mfcc, n_mfcc <= base.num_features, rule)
    return _with_features(base, base.features + (log, DCT(n_mfcc, norm)))


_KALDI_FLAGS = "htk_compat raw_energy remove_dc_offset round_to_power_of_two snip_edges subtract_mean use_energy "
_KALDI_FLAGS = (_KALDI_FLAGS + "use_log_fbank use_power").split()
_KALDI_NUMBERS = "blackman_coeff dither energy_floor frame_length frame_shift high_freq low_freq "
_KALDI_NUMBERS = (_KALDI_NUMBERS + "preemphasis_coefficient sample_frequency vtln_high vtln_low vtln_warp").split()


def _kaldi(
    name: str,
    blackman_coeff=0.42,
    channel=-1,
    dither=0.0,
    energy_floor=1.0,
    frame_length=25.0,
    frame_shift=10.0,
    high_freq=0.0,
    htk_compat=False,
    low_freq=20.0,
    min_duration=0.0,
    num_mel_bins=23,
    preemphasis_coefficient=0.97,
    raw_energy=True,
    remove_dc_offset=True,
    round_to_power_of_two=True,
    sample_frequency=16000.0,
    snip_edges=True,
    subtract_mean=False,
    use_energy=False,
    vtln_high=-500.0,
    vtln_low=100.0,
    vtln_warp=1.0,
    window_type="povey",
    use_log_fbank=True,
    use_power=True,
    augmentation=None,
    **unsupported,
) -> tuple[dict[str, Any], MelFilterbank, tuple, tuple]:
    """The shared fields of ``kaldi_fbank`` and ``kaldi_mfcc``."""
    refuse(name, unsupported, _kaldi, extra=("num_ceps", "cepstral_lifter") if name == "kaldi_mfcc" else ())
    booleans(name, **{k: v for k, v in locals().items() if k in _KALDI_FLAGS})
    finite_numbers(name, **{k: v for k, v in locals().items() if k in _KALDI_NUMBERS})
    require(name, "vtln_warp", vtln_warp, vtln_warp == 1.0, "VTLN warping is not implemented; use 1.0")
    # kaldi_fbank: htk_compat only moves the energy (none without use_energy, as in torchaudio)
    require(name, "htk_compat", htk_compat, not htk_compat or name == "kaldi_fbank", "is implemented for kaldi_fbank")
    ok = 0.0 <= preemphasis_coefficient <= 1.0
    require(name, "preemphasis_coefficient", preemphasis_coefficient, ok, "must be in [0, 1] (as torchaudio's)")
    rule = "must be 0.0: jaxspec does not return torchaudio's empty output for shorter clips"
    require(name, "min_duration", min_duration, min_duration == 0.0, rule)
    require(name, "channel", channel, channel in (-1, 0), "jaxspec takes one mono signal (-1 or 0)")
    require(name, "use_log_fbank", use_log_fbank, use_log_fbank in (True, False), "must be True or False")
    require(name, "dither", dither, dither >= 0, "must be >= 0 (the noise's standard deviation)")
    rate = whole_rate(name, "sample_frequency", sample_frequency)
    window = kaldi_samples(name, "frame_length", frame_length, rate, 2, limits.MAX_WINDOW_SAMPLES)
    shift = kaldi_samples(name, "frame_shift", frame_shift, rate, 1, limits.MAX_OFFSET_SAMPLES)
    num_mel_bins = integer(name, "num_mel_bins", num_mel_bins, 3, limits.MAX_MEL_BANDS, " (as Kaldi's)")
    fft = 1 << (window - 1).bit_length() if round_to_power_of_two else window
    even = fft % 2 == 0
    rule = f"with a window of {window} samples (odd): torchaudio and kaldi-native-fbank need an even FFT size"
    require(name, "round_to_power_of_two", round_to_power_of_two, even, rule)
    window_function = kaldi_window(name, window_type, blackman_coeff, window)
    preprocess = (Dither(dither),) if dither else ()
    preprocess += (RemoveDC(),) if remove_dc_offset else ()
    preprocess += (LogEnergy(energy_floor, windowed=not raw_energy),) if use_energy else ()
    preprocess += (PreEmphasis(preemphasis_coefficient),) if preemphasis_coefficient else ()
    nyquist = rate / 2.0
    high = high_freq if high_freq > 0 else nyquist + high_freq
    require(name, "low_freq", low_freq, 0.0 <= low_freq < nyquist, f"must be in [0, {nyquist:g})")
    require(
        name, "high_freq", high_freq, low_freq < high <= nyquist, f"must give a band edge in ({low_freq}, {nyquist:g}]"
    )
    fields = dict(
        sample_rate=rate,
        window_size=window,
        offset=shift,
        fft_size=fft,
        window_function=window_function,
        framing=Kaldi(bool(snip_edges)),
        preprocess=preprocess,
        power=2.0 if use_power else 1.0,
        augmentation=augmentation,
    )
    mel = MelFilterbank(num_mel_bins, low_freq, float(high), "kaldi", None)
    tail = (SubtractMean(),) if subtract_mean else ()
    energy = UseEnergy("c0" if name == "kaldi_mfcc" else "last" if htk_compat else "first")
    return fields, mel, (Log(),) if use_log_fbank else (), ((energy,) if use_energy else ()) + tail


@takes_keywords_of(_kaldi)
def kaldi_fbank(**kwargs: Any) -> SpectrogramConfig:
    """``torchaudio.compliance.kaldi.fbank(x[None], **kw)`` (and kaldi-native-fbank with the
    same options): log mel energies ``[frames, num_mel_bins]``, torchaudio's names and
    defaults (``dither=0.0``; ``dither > 0`` draws from the key, none without one).
    The waveform's scale matters (the floors are absolute): Kaldi usually sees int16
    values, and ``spectrogram`` scales integer PCM to [-1, 1), so pass
    ``pcm.astype(np.float32)`` to keep the int16 scale.

    >>> from jaxspec.presets import kaldi_fbank
    >>> kaldi_fbank().output_shape(16000)
    (98, 23)
    """
    fields, mel, log, tail = _kaldi("kaldi_fbank", **kwargs)
    return SpectrogramConfig(**fields, features=(mel,) + log + tail)


@takes_keywords_of(_kaldi, hidden=("use_log_fbank", "use_power"))  # torchaudio's mfcc fixes them
def kaldi_mfcc(*, num_ceps=13, cepstral_lifter=22.0, **kwargs: Any) -> SpectrogramConfig:
    """``torchaudio.compliance.kaldi.mfcc(x[None], **kw)``: orthonormal DCT-II of the log mel
    energies, the first ``num_ceps``, Kaldi's lifter ``1 + (L/2) sin(pi i / L)``.

    >>> from jaxspec.presets import kaldi_mfcc
    >>> kaldi_mfcc().output_shape(16000)
    (98, 13)
    """
    for forced in ("use_log_fbank", "use_power"):
        require("kaldi_mfcc", forced, kwargs.get(forced, True), kwargs.get(forced, True) is True, "mfcc fixes it")
    fields, mel, log, tail = _kaldi("kaldi_mfcc", **kwargs)
    integer("kaldi_mfcc", "num_ceps", num_ceps)
    # Kaldi and torchaudio lifter with any L != 0, negative ones included
    finite_numbers("kaldi_mfcc", cepstral_lifter=cepstral_lifter)
    ok = abs(cepstral_lifter) <= limits.MAX_FEATURE_CONSTANT
    require("kaldi_mfcc", "cepstral_lifter", cepstral_lifter, ok, f"must be within ±{limits.MAX_FEATURE_CONSTANT:g}")
    dct = DCT(num_ceps, "ortho", cepstral_lifter, "kaldi")
    require("kaldi_mfcc", "num_ceps", num_ceps, dct.n <= mel.n_mels, f"must be <= num_mel_bins={mel.n_mels}")
    return SpectrogramConfig(**fields, features=(mel,) + log + (dct,) + tail)


def whisper(n_mels: int = 80, *, augmentation: Any = None, **unsupported) -> SpectrogramConfig:
    """Whisper's log-mel input ``[3000, n_mels]`` (openai-whisper ``log_mel_spectrogram(
    pad_or_trim(x), n_mels)`` and ``WhisperFeatureExtractor``, transposed): 16 kHz, zero-pad
    or trim to 30 s, 400-point periodic-Hann STFT every 160 samples, centred with reflect
    padding, last frame dropped, Slaney mels, ``WhisperLog`` per example.

    >>> from jaxspec.presets import whisper
    >>> whisper().output_shape(16000)
    (3000, 80)
    """
    refuse("whisper", unsupported, whisper)
    ok = isinstance(n_mels, numbers.Integral) and n_mels in (80, 128)  # 80.0: both sources fail on a float
    require("whisper", "n_mels", n_mels, ok, "must be the int 80 or 128: Whisper models use 80 or 128 mel bins")
    return SpectrogramConfig(
        sample_rate=16000,
        window_size=400,
        offset=160,
        fft_size=400,
        window_function="hann",
        target_length=30.0,
        framing=Centered("reflect", drop_last=True),
        features=(MelFilterbank(n_mels, 0.0, 8000.0, "slaney", "slaney"), WhisperLog()),
        augmentation=augmentation,
    )
