"""Sharding a batch over 4 CPU devices: computed in place, equal to one device."""

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    import jaxspec

    assert len(jax.devices()) == 4, jax.devices()
    config = jaxspec.SpectrogramConfig(
        augmentation=jaxspec.Augmentation(volume=(0.5, 2.0), noise=0.01, time_shift=(-0.1, 0.1))
    )
    x = np.random.default_rng(0).standard_normal((8, 4000)).astype(np.float32)
    sharding = jaxspec.batch_sharding()
    xs = jax.device_put(x, sharding)
    key = jax.random.key(7)
    step = jax.jit(jaxspec.sharded_spectrogram)
    out = step(config, xs, key)
    single = jax.jit(jaxspec.spectrogram)(config, x, key)
    np.testing.assert_allclose(np.asarray(out), np.asarray(single), rtol=1e-5, atol=1e-6 * float(single.max()))
    assert out.sharding.spec == jax.sharding.PartitionSpec("batch"), out.sharding
    assert sorted(s.device.id for s in out.addressable_shards) == [0, 1, 2, 3]
    assert all(s.data.shape == (2, 31, 201) for s in out.addressable_shards)
    compiled = step.lower(config, xs, key).compile().as_text()
    assert "all-gather(" not in compiled, "the batch was gathered to one device"
    assert "all-to-all(" not in compiled
    try:
        jaxspec.sharded_spectrogram(config, x[:6], key)
    except ValueError as error:
        assert "B=6" in str(error), error
    else:
        raise AssertionError("a batch not divisible by the devices must be rejected")
    try:
        jaxspec.sharded_spectrogram(config, x, jax.random.split(key, 3))
    except ValueError as error:  # the words of spectrogram's own message
        assert "pass one key or 8 keys (one per row)" in str(error), error
    else:
        raise AssertionError("3 keys for 8 rows must be rejected")
    # long inputs (the blockwise loop) and white noise (a loop too) under shard_map
    long = np.random.default_rng(1).standard_normal((4, 16000 * 40)).astype(np.float32)
    noisy = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(noise=0.01))
    out = jaxspec.sharded_spectrogram(noisy, long, key)
    single = jaxspec.spectrogram(noisy, long, key)
    assert out.shape == (4, 4813, 201)
    np.testing.assert_allclose(np.asarray(out), np.asarray(single), rtol=1e-5, atol=1e-6 * float(single.max()))
    # eager calls reuse one compiled program (a new shard_map closure per call compiled 3-8)
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: compiles.append(event) if "backend_compile" in event else None
    )
    jaxspec.sharded_spectrogram(config, x, key, lengths=np.full(8, 3000))
    before = len(compiles)
    for n in (2000, 1000):
        again = jaxspec.sharded_spectrogram(config, x, key, lengths=np.full(8, n))
    assert len(compiles) == before, compiles[before:]
    alone = jaxspec.spectrogram(config, x, key, lengths=np.full(8, 1000))
    np.testing.assert_allclose(np.asarray(again), np.asarray(alone), rtol=1e-5, atol=1e-6 * float(alone.max()))
    # a mesh of jax.make_mesh (explicit axes by default in recent jax: shard_map moves nothing
    # itself), and inputs committed to one device: placed by sharded_spectrogram
    from jax.sharding import NamedSharding, PartitionSpec as P

    lengths = np.array([4000, 10, 0, 3999, 1500, 400, 401, 2000])
    ragged = np.asarray(jaxspec.spectrogram(config, x, key, lengths=lengths))
    keys = jax.random.split(key, 8)
    per_row = np.asarray(jaxspec.spectrogram(config, x, keys, lengths=lengths))
    made = NamedSharding(jax.make_mesh((4,), ("batch",)), P("batch"))
    xs, ls = jax.device_put(x, made), jax.device_put(lengths, made)
    step = jax.jit(jaxspec.sharded_spectrogram, static_argnames="sharding")
    for out, expected in (
        (jaxspec.sharded_spectrogram(config, xs, key, lengths=ls, sharding=made), ragged),
        (step(config, xs, key, lengths=ls, sharding=made), ragged),
        (step(config, x, key, lengths=lengths, sharding=made), ragged),
        (jaxspec.sharded_spectrogram(config, x, keys, lengths=lengths, sharding=made), per_row),
    ):
        np.testing.assert_array_equal(np.asarray(out), expected)
    one = jax.devices()[0]
    plain = np.asarray(jaxspec.spectrogram(config, x, key))
    out = jaxspec.sharded_spectrogram(config, jax.device_put(x, one), jax.device_put(key, one))
    np.testing.assert_array_equal(np.asarray(out), plain)
    # a config whose recording is committed to one device (a train state put there) is replicated:
    # it was JAX's "incompatible devices" error naming an internal wrapper (found by an audit)
    recorded = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(noise=jaxspec.Noise(0.5, x[0, :300])))
    expected = np.asarray(jaxspec.spectrogram(recorded, x, key))
    out = jaxspec.sharded_spectrogram(jax.device_put(recorded, jax.devices()[1]), x, key)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6 * float(expected.max()))
    print("SHARDING-OK")
    """
)


def test_sharded_batch_is_computed_in_place_and_equals_single_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SHARDING-OK" in result.stdout


_EMPTY_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    import jaxspec

    mesh = jax.make_mesh((2,), ("batch",), devices=jax.devices()[:2])
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    kaldi = jaxspec.SpectrogramConfig(framing=jaxspec.Kaldi(True))  # no frame below a window
    cases = [
        (kaldi, np.zeros((2, 100), np.float32), np.array([100, 7])),
        (jaxspec.SpectrogramConfig(), np.zeros((2, 0), np.float32), np.array([0, 0])),
        (jaxspec.SpectrogramConfig(power=None), np.zeros((0, 500), np.float32), None),
    ]
    for config, x, lengths in cases:
        out = jaxspec.sharded_spectrogram(config, x, jax.random.key(0), lengths=lengths, sharding=sharding)
        expected = np.asarray(jaxspec.spectrogram(config, x, jax.random.key(0), lengths=lengths))
        assert np.asarray(out).shape == expected.shape and out.dtype == expected.dtype, (out.shape, expected.shape)
        assert out.sharding.is_equivalent_to(sharding, 3)
    print("EMPTY-OK")
    """
)


def test_an_empty_sharded_result_reads_back():
    """A batch with no frames (rows under Kaldi's window, or no samples): jit's zero-size sharded
    output held the whole batch's shape on each device, and np.asarray of it failed to broadcast."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", _EMPTY_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "EMPTY-OK" in result.stdout


_MESH_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    import jaxspec
    from jax.sharding import NamedSharding, PartitionSpec as P

    config = jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 2.0), noise=0.01))
    x = np.random.default_rng(0).standard_normal((8, 3000)).astype(np.float32)
    key = jax.random.key(3)
    expected = np.asarray(jaxspec.spectrogram(config, x, key))
    mine = NamedSharding(jax.make_mesh((4,), ("data",)), P("data"))  # not batch_sharding's axis name
    keys = jax.device_put(jax.random.split(key, 8), mine)
    by_row = np.asarray(jaxspec.spectrogram(config, x, jax.random.split(key, 8)))
    on_batch_mesh = jax.device_put(x, jaxspec.batch_sharding())
    for out, want in (  # each was a KeyError 'data' or shard_map's "does not match the specs of the input"
        (jaxspec.sharded_spectrogram(config, jax.device_put(x, mine), key), expected),
        (jaxspec.sharded_spectrogram(config, on_batch_mesh, key, sharding=mine), expected),
        (jaxspec.sharded_spectrogram(config, x, keys), by_row),
    ):
        np.testing.assert_array_equal(np.asarray(out), want)
    # the default sharding is the mesh axis that already splits x's rows: computed where they lie
    assert jaxspec.sharded_spectrogram(config, jax.device_put(x, mine)).sharding.mesh.axis_names == ("data",)
    for bad, words in ((NamedSharding(mine.mesh, P()), "does not split the first"), (None, "names a device twice")):
        try:
            jaxspec.sharded_spectrogram(config, x, sharding=bad or jaxspec.batch_sharding([jax.devices()[0]] * 2))
        except jaxspec.InputError as error:
            assert words in str(error), error
        else:
            raise AssertionError(words)
    # empty results under jit on an explicit mesh: "Length of device assignment 1 is not equal ..."
    step = jax.jit(jaxspec.sharded_spectrogram, static_argnames="sharding")
    assert np.asarray(step(config, np.zeros((0, 3000), np.float32), key, sharding=mine)).shape == (0, 23, 201)
    assert np.asarray(step(config, np.zeros((4, 0), np.float32), lengths=np.zeros(4, int), sharding=mine)).shape == (
        4, 0, 201,
    )
    # a NumPy batch goes to each device's rows, not whole to the default device first
    placed, put = [], jax.device_put
    jax.device_put = lambda a, *args, **kw: placed.append((np.shape(a), args or kw)) or put(a, *args, **kw)
    jaxspec.sharded_spectrogram(config, x, key, sharding=mine)
    jax.device_put = put
    assert [where for shape, where in placed if shape == x.shape] == [(NamedSharding(mine.mesh, P("data", None)),)]
    print("MESH-OK")
    """
)


def test_meshes_of_other_axis_names_and_empty_batches_under_jit():
    """The sharding audit: a batch already split over a ``jax.make_mesh`` mesh of another axis
    name failed (KeyError); a spec that does not split the batch copied it to every device;
    ``batch_sharding([d, d])`` failed inside JAX; an empty batch under jit on an explicit mesh
    failed; a NumPy batch was copied whole to the default device before being split."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", _MESH_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MESH-OK" in result.stdout
