"""Shared plumbing of the benchmark scripts: loading a simulator module and an example by
path, peak memory, and the one-JSON-line output every script ends with."""
import hashlib
import importlib
import importlib.util
import json
import os
import resource
import sys

import numpy as np

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples")


def simulator(name):
    """The PyNN backend module ``name`` (e.g. pyNN_neuro, pyNN.nest, pyNN.brian2)."""
    return importlib.import_module(name)


def example(name):
    """Import ``examples/<name>.py`` as a module (its build_and_run functions)."""
    path = os.path.join(EXAMPLES, name + ".py")
    spec = importlib.util.spec_from_file_location("example_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak_memory_mb():
    """Peak resident memory of this process so far (MB); one benchmark per process."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def spike_digest(populations):
    """SHA-256 (first 16 hex digits) of every recorded spike (population, neuron, time),
    sorted, for pyNN_neuro, whose recorder hands them over as arrays; None for other
    backends. Equal digests: identical spike trains (e.g. with 1 and 2 threads)."""
    if not all(type(p).__module__.startswith("pyNN_neuro") for p in populations):
        return None
    digest = hashlib.sha256()
    for population in populations:
        ids, times = population.recorder._get_spiketimes(population.all_cells)
        order = np.lexsort((times, ids))
        digest.update(np.ascontiguousarray(ids[order], dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(times[order], dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def emit(result):
    """Print the result as one JSON line (the runner reads the last line of stdout)."""
    result["peak_memory_mb"] = round(peak_memory_mb(), 1)
    engine = sys.modules.get("pyNN_neuro.engine")
    if engine is not None:
        result["isa"] = getattr(engine, "ISA", "baseline")   # the kernel build used
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
