"""One process of the two-process test in ``test_multihost.py`` (run as a script).

``python tests/multihost_worker.py PROCESS_ID PORT OUT.npz``: joins a 2-process
``jax.distributed`` job on localhost with 2 CPU devices per process (gloo collectives),
loads only its own half of a global batch, computes ``sharded_spectrogram`` of the
global batch and (process 0) saves the gathered result.
"""

from __future__ import annotations

import os
import sys

import numpy as np

BATCH, LENGTH = 8, 4000
LENGTHS = np.array([4000, 10, 0, 3999, 1500, 400, 401, 2000])


def global_batch() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((BATCH, LENGTH)).astype(np.float32)


def config():
    import jaxspec

    return jaxspec.SpectrogramConfig(augmentation=jaxspec.Augmentation(volume=(0.5, 1.5), noise=0.01))


def main(process_id: int, port: str, out: str) -> None:
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    from jax.experimental import multihost_utils

    import jaxspec

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id)
    sharding = jaxspec.batch_sharding()  # all 4 devices of both processes
    rows = BATCH // jax.process_count()
    local = global_batch()[process_id * rows : (process_id + 1) * rows]  # each host loads its own rows
    x = jax.make_array_from_process_local_data(sharding, local, (BATCH, LENGTH))
    y = jaxspec.sharded_spectrogram(config(), x, jax.random.key(0), sharding=sharding)
    full = multihost_utils.process_allgather(y, tiled=True)
    # eager, with lengths sharded like the rows (checked without fetching other processes' rows)
    lengths = jax.make_array_from_process_local_data(sharding, LENGTHS[process_id * rows : (process_id + 1) * rows])
    y = jaxspec.sharded_spectrogram(config(), x, jax.random.key(0), lengths=lengths, sharding=sharding)
    ragged = multihost_utils.process_allgather(y, tiled=True)
    # a NaN in process 1's rows is refused on both (a gloo max drops NaN)
    bad = local.copy()
    bad[0, 1500] = np.nan if process_id == 1 else bad[0, 1500]
    try:
        jaxspec.sharded_spectrogram(config(), jax.make_array_from_process_local_data(sharding, bad), jax.random.key(0))
    except jaxspec.InputError as error:
        print("NaN refused:", error, flush=True)
    if process_id == 0:
        np.savez(out, full=np.asarray(full), ragged=np.asarray(ragged))
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
