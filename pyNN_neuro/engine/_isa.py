"""Which build of the kernel modules this process uses.

Every kernel module (``_cond``, ``_lif``, ``_multisynapse``, ``_sources``, ``_synapses``) is
built for the baseline x86-64 instruction set and, where the compiler allows, again for
x86-64-v3 (AVX2) and x86-64-v4 (AVX-512) in the subpackages of those names. The builds
differ only in vector width: none contracts a multiply and an add, and every vector
operation rounds as its scalar counterpart, so all of them give the same numbers (checked
by tests/test_kernels_isa.py). ``select()``, called when ``pyNN_neuro.engine`` is
imported, makes ``pyNN_neuro.engine._lif`` and the others refer to the best build the
processor supports; ``$PYNN_NEURO_ISA`` (``baseline``, ``x86_64_v3``, ``x86_64_v4``) asks for
another one.
"""
import importlib
import os
import sys

KERNEL_MODULES = ("_cond", "_lif", "_multisynapse", "_sources", "_synapses")
LEVELS = ("baseline", "x86_64_v3", "x86_64_v4")     # in increasing order
VARIABLE = "PYNN_NEURO_ISA"

_PACKAGE = __name__.rpartition(".")[0]
_modules = {}       # level -> {name: module}; the baseline imported first, always


def modules(level):
    """The kernel modules built for ``level``, by name; ImportError if not built."""
    if level not in _modules:
        prefix = _PACKAGE if level == "baseline" else f"{_PACKAGE}.{level}"
        _modules[level] = {name: importlib.import_module(f"{prefix}.{name}")
                           for name in KERNEL_MODULES}
    return _modules[level]


def supported():
    """The levels this processor runs, lowest first (whether built or not)."""
    level_number = modules("baseline")["_sources"].cpu_level()
    return [level for number, level in zip((1, 3, 4), LEVELS) if number <= level_number]


def built(level):
    """Whether the kernel modules of ``level`` are importable (call only for a supported
    level: importing a build the processor cannot run may crash it)."""
    try:
        modules(level)
    except ImportError:
        return False
    return True


def available():
    """The levels that are both built and supported by this processor, lowest first."""
    return [level for level in supported() if built(level)]


def select():
    """Point ``pyNN_neuro.engine.<kernel module>`` at the chosen build; return its level."""
    wanted = os.environ.get(VARIABLE)
    if wanted:
        if wanted not in supported() or not built(wanted):
            raise ImportError(f"${VARIABLE}={wanted!r}: this build and processor offer "
                              f"{available()}")
        level = wanted
    else:
        level = next(level for level in reversed(supported()) if built(level))
    package = sys.modules[_PACKAGE]
    for name, module in modules(level).items():
        sys.modules[f"{_PACKAGE}.{name}"] = module
        setattr(package, name, module)
    return level
