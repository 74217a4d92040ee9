"""The kernel modules built for x86-64-v4 (AVX-512) processors (see pyNN_neuro.engine._isa)."""
