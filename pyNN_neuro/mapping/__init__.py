"""Mapping compiler: network spec + hardware profile -> a checked mapping with its costs.

Pure numpy; it imports nothing from PyNN nor from ``pyNN_neuro.engine``, so it can be
tested alone and reused by conversion and training. Typical use::

    from pyNN_neuro.mapping import network_spec, compile, check
    spec = network_spec([("input", 100, True), ("exc", 3200)],
                        [dict(pre="input", post="exc", pre_index=i, post_index=j)])
    mapping = compile(spec, "loihi")
    print(mapping.summary())
    mapping.update_counts(spike_counts, duration_ms=1000.0, dt_ms=0.1)
    mapping.to_json("mapping_report.json")
"""
from .checker import check  # noqa: F401
from .compiler import MAPPERS, compile_network  # noqa: F401
from .errors import MappingError  # noqa: F401
from .legalise import UNROLL_MODES  # noqa: F401
from .mapping import Mapping  # noqa: F401
from .spec import NetworkSpec, PopulationSpec, ProjectionSpec, network_spec  # noqa: F401

compile = compile_network  # noqa: A001  (the package's public name; shadows the builtin only here)

__all__ = ["compile", "compile_network", "check", "Mapping", "MappingError", "NetworkSpec",
           "PopulationSpec", "ProjectionSpec", "network_spec", "MAPPERS", "UNROLL_MODES"]
