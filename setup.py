"""Build script for pyNN_neuro.

The Cython kernels in ``ext/*.pyx`` become extension modules of ``pyNN_neuro.engine``
(``ext/_lif.pyx`` -> ``pyNN_neuro.engine._lif``). They are built with OpenMP when the
compiler accepts ``-fopenmp`` and serially otherwise: results are identical either way.

On x86-64 with a compiler that knows the ISA levels (GCC >= 12), each kernel module is
also built for x86-64-v3 (AVX2) and x86-64-v4 (AVX-512), as
``pyNN_neuro.engine.<level>.<module>``; ``pyNN_neuro.engine`` uses the highest level the
processor supports (``pyNN_neuro/engine/_isa.py``). The levels differ only in vector
width: no fused multiply-add at any level, so every level computes the same numbers.
``PYNN_NEURO_BUILD_ISA=baseline`` (or a comma-separated list of levels) builds fewer.

The mapping compiler's kernels in ``ext/mapping/*.pyx`` become modules of
``pyNN_neuro.mapping`` (``ext/mapping/_grow.pyx`` -> ``pyNN_neuro.mapping._grow``), built
for the baseline only: their loops chase indices through memory, which wider vectors do
not speed up.
"""
import glob
import os
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext


# instruction-set levels the kernels are also built for, and the flags that select them
ISA_LEVELS = {
    "x86_64_v3": ["-march=x86-64-v3"],
    "x86_64_v4": ["-march=x86-64-v4", "-mprefer-vector-width=512"],
}
ISA_PROBE = ('int main(void){__builtin_cpu_init(); '
             'return __builtin_cpu_supports("x86-64-v3") >= 0 ? 0 : 1;}\n')


def _compiler_accepts(source_text, flags):
    """True when the default C compiler can compile and link source_text with flags."""
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler
    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(source_text)
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objects, os.path.join(tmp, "probe"), extra_postargs=flags)
        except Exception:
            return False
    return True


def _isa_level(ext):
    """The ISA level an extension is built for (None: the baseline build)."""
    parts = ext.name.split(".")
    return parts[-2] if parts[-2] in ISA_LEVELS else None


class BuildExt(build_ext):
    def build_extensions(self):
        openmp = sys.platform != "win32" and _compiler_accepts(
            "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n",
            ["-fopenmp"])
        if not openmp:
            print("pyNN_neuro: the C compiler does not support OpenMP; kernels run single-threaded")
        wanted = os.environ.get("PYNN_NEURO_BUILD_ISA")
        levels = [level for level, flags in ISA_LEVELS.items()
                  if (wanted is None or level in wanted.split(","))
                  and _compiler_accepts(ISA_PROBE, flags)]
        self.extensions = [ext for ext in self.extensions
                           if _isa_level(ext) is None or _isa_level(ext) in levels]
        for ext in self.extensions:
            # -ffp-contract=off: no fused multiply-adds, whatever the target, so a kernel
            # rounds the same on every machine and build. -fno-trapping-math: the kernels
            # never test floating-point exception flags, so the compiler may evaluate both
            # sides of a select and vectorise branch-free loops; values are unchanged.
            ext.extra_compile_args = (["-O3", "-ffp-contract=off", "-fno-trapping-math"]
                                      + ISA_LEVELS.get(_isa_level(ext), [])
                                      + (["-fopenmp"] if openmp else []))
            ext.extra_link_args = ["-fopenmp"] if openmp else []
        super().build_extensions()

    def build_extension(self, ext):
        # a level's objects go to their own directory: the C sources are shared
        level = _isa_level(ext)
        if level is None:
            return super().build_extension(ext)
        build_temp = self.build_temp
        self.build_temp = os.path.join(build_temp, level)
        try:
            super().build_extension(ext)
        finally:
            self.build_temp = build_temp


kernel_sources = sorted(glob.glob(os.path.join("ext", "*.pyx")))
mapping_kernel_sources = sorted(glob.glob(os.path.join("ext", "mapping", "*.pyx")))
common = dict(include_dirs=[numpy.get_include()],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
extensions = [
    Extension(f"pyNN_neuro.{package}." + os.path.splitext(os.path.basename(path))[0], [path],
              **common)
    for package, sources in (("engine", kernel_sources), ("mapping", mapping_kernel_sources))
    for path in sources
]


def _generated_source(path):
    """The C or C++ file Cython generates from ext/<name>.pyx, and its language."""
    with open(path) as f:
        cplusplus = "# distutils: language = c++" in f.read()
    return os.path.splitext(path)[0] + (".cpp" if cplusplus else ".c"), \
        ("c++" if cplusplus else None)


# the same generated code, compiled once more per ISA level (a module keeps its last name,
# hence its init function)
level_extensions = [
    Extension(f"pyNN_neuro.engine.{level}." + os.path.splitext(os.path.basename(path))[0],
              [_generated_source(path)[0]], language=_generated_source(path)[1], **common)
    for level in ISA_LEVELS for path in kernel_sources
]

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="pyNN_neuro",
    version="0.1.0",
    description="A PyNN backend that compiles networks onto tile-based neuromorphic hardware "
                "models and simulates them with Cython kernels",
    long_description=long_description,
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pyNN_neuro", "pyNN_neuro.*"]),
    package_data={"pyNN_neuro.selector": ["data/*.npz"]},
    ext_modules=cythonize(
        extensions,
        include_path=["ext"],
        compiler_directives={"language_level": 3, "boundscheck": False,
                             "wraparound": False, "cdivision": True},
    ) + level_extensions,
    cmdclass={"build_ext": BuildExt},
    install_requires=[
        "PyNN>=0.12,<0.14",
        "neo>=0.13",
        "quantities",
        "lazyarray>=0.5",
        "numpy>=1.26",
    ],
    extras_require={
        "test": ["pytest", "scipy", "matplotlib", "hypothesis", "nixio", "pymetis"],
        "plot": ["matplotlib"],
        "mapping": ["pymetis", "mtkahypar"],
        "selector": ["scikit-learn", "scipy", "threadpoolctl"],
    },
    zip_safe=False,
)
