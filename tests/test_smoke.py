import numpy as np

import jaxspec


def test_bundled_clip_encodes_to_documented_shape():
    config = jaxspec.SpectrogramConfig()
    audio = jaxspec.load_audio(jaxspec.example_path())
    out = np.asarray(jaxspec.encode(config, jaxspec.example_path()))
    assert out.dtype == np.float32
    assert out.shape == (-(-audio.num_samples // 133), 201)
    assert np.isfinite(out).all() and out.max() > 0


def test_public_modules_list_documented_names():
    """Each public module's ``__all__`` names what it defines, once, each documented."""
    import importlib
    import inspect

    extras = {"jaxspec.grain": "grain", "jaxspec.beam": "apache_beam"}  # modules of optional extras
    for name in ["jaxspec", "jaxspec.presets", "jaxspec.augmentation", "jaxspec.plot", "jaxspec.grain", "jaxspec.beam"]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != extras.get(name):
                raise
            continue  # its extra is not installed here (the accelerator image has no Beam)
        names = module.__all__
        assert len(names) == len(set(names)), name
        for public in names:
            value = getattr(module, public)  # an AttributeError names a listed name that is gone
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{name}.{public} has no docstring"


def test_the_package_is_marked_typed_and_takes_arrays_as_annotated():
    # no py.typed: mypy read jaxspec as Any (`windw_size=` passed); once read, `spectrogram(config,
    # np_array)` and `features=[...]`, documented uses, were type errors (the typing audit)
    import importlib.resources
    import typing

    assert importlib.resources.files("jaxspec").joinpath("py.typed").is_file()  # in the installed package
    for function in (jaxspec.spectrogram, jaxspec.augment, jaxspec.sharded_spectrogram):
        hints = typing.get_type_hints(function)
        assert np.ndarray in typing.get_args(hints["x"]) or hints["x"] is typing.Any, function.__name__
    hints = typing.get_type_hints(jaxspec.SpectrogramConfig)
    for field in ("features", "preprocess"):
        assert typing.get_origin(hints[field]) is not tuple, field
