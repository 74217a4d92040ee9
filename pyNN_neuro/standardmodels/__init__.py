"""Standard models: PyNN's standard cell, synapse and current-source types for pyNN_neuro."""
