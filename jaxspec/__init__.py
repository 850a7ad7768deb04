"""jaxspec: audio spectrograms as pure JAX functions of a frozen config."""

from . import presets
from ._attach import attach
from .augmentation import (
    VTLP,
    Augmentation,
    Convolution,
    FrequencyMask,
    LogUniform,
    Noise,
    Normal,
    Scaled,
    TimeMask,
    TimeShift,
    TimeWarp,
    Uniform,
    Volume,
    draw,
)
from .config import SpectrogramConfig
from .encoding import encode, encode_batch
from .errors import (
    AudioFileError,
    AudioSamplesError,
    ConfigError,
    InputError,
    JaxspecError,
    PcmScaleWarning,
    RecordingFileError,
    TruncatedAudioWarning,
)
from .features import DCT, Decibels, Deltas, Log, MelFilterbank, SubtractMean, UseEnergy, WhisperLog
from .framing import Centered, Dither, Kaldi, LogEnergy, PreEmphasis, RemoveDC
from .io import Audio, example_path, load_audio
from .resampling import resample
from .sharding import batch_sharding, sharded_spectrogram
from .spectrum import augment, spectrogram
from .stream import encode_to_file, stream_spectrogram
from .windows import Window

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "AudioFileError",
    "AudioSamplesError",
    "Augmentation",
    "Centered",
    "ConfigError",
    "Convolution",
    "DCT",
    "Decibels",
    "Deltas",
    "Dither",
    "FrequencyMask",
    "InputError",
    "JaxspecError",
    "Kaldi",
    "Log",
    "LogEnergy",
    "LogUniform",
    "MelFilterbank",
    "Noise",
    "Normal",
    "PcmScaleWarning",
    "PreEmphasis",
    "RecordingFileError",
    "RemoveDC",
    "Scaled",
    "SpectrogramConfig",
    "SubtractMean",
    "TimeMask",
    "TimeShift",
    "TimeWarp",
    "TruncatedAudioWarning",
    "Uniform",
    "UseEnergy",
    "VTLP",
    "Volume",
    "WhisperLog",
    "Window",
    "attach",
    "augment",
    "batch_sharding",
    "draw",
    "encode",
    "encode_batch",
    "encode_to_file",
    "example_path",
    "load_audio",
    "presets",
    "resample",
    "sharded_spectrogram",
    "spectrogram",
    "stream_spectrogram",
]
