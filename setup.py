"""Build script for pyNN_neuro.

The Cython kernels in ``ext/*.pyx`` become extension modules of ``pyNN_neuro.engine``
(``ext/_lif.pyx`` -> ``pyNN_neuro.engine._lif``). They are built with OpenMP when the
compiler accepts ``-fopenmp`` and serially otherwise: results are identical either way.
"""
import glob
import os
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext


def _compiler_accepts_openmp():
    """True when the default C compiler can compile and link a file with -fopenmp."""
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler
    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, os.path.join(tmp, "probe"), extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        openmp = sys.platform != "win32" and _compiler_accepts_openmp()
        if not openmp:
            print("pyNN_neuro: the C compiler does not support OpenMP; kernels run single-threaded")
        for ext in self.extensions:
            # -ffp-contract=off: no fused multiply-adds, whatever the target, so a kernel
            # rounds the same on every machine and build. -fno-trapping-math: the kernels
            # never test floating-point exception flags, so the compiler may evaluate both
            # sides of a select and vectorise branch-free loops; values are unchanged.
            ext.extra_compile_args = (["-O3", "-ffp-contract=off", "-fno-trapping-math"]
                                      + (["-fopenmp"] if openmp else []))
            ext.extra_link_args = ["-fopenmp"] if openmp else []
        super().build_extensions()


extensions = [
    Extension(
        "pyNN_neuro.engine." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(glob.glob(os.path.join("ext", "*.pyx")))
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
    ),
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
