import numpy as np

import jaxspec


def test_bundled_clip_encodes_to_documented_shape():
    config = jaxspec.SpectrogramConfig()
    audio = jaxspec.load_audio(jaxspec.example_path())
    out = np.asarray(jaxspec.encode(config, jaxspec.example_path()))
    assert out.dtype == np.float32
    assert out.shape == (-(-audio.num_samples // 133), 201)
    assert np.isfinite(out).all() and out.max() > 0
