"""The kernel modules built for x86-64-v3 (AVX2) processors (see pyNN_neuro.engine._isa)."""
