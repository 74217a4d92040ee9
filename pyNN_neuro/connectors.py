"""PyNN's connectors, with one repair.

PyNN 0.13's generic connector path (``MapConnector._standard_connect``) calls ``nonzero()``
on a 0-d mask when a OneToOneConnector joins one-cell populations, which numpy 2 refuses;
pyNN.nest fails the same way. Our OneToOneConnector connects that single pair directly and
leaves every other case to PyNN.
"""
import numpy as np
from pyNN import connectors
from pyNN.connectors import *  # noqa: F401,F403


class OneToOneConnector(connectors.OneToOneConnector):
    __doc__ = connectors.OneToOneConnector.__doc__

    def connect(self, projection):
        if projection.pre.size > 1 and projection.post.size > 1:
            return super().connect(projection)
        parameter_space = self._parameters_from_synapse_type(projection)
        first = np.array([0])
        values = {name: (value.evaluate(simplify=True) if value.is_homogeneous
                         else value[first, 0])
                  for name, value in parameter_space.items()}
        syn = projection.synapse_type
        for name, check in getattr(syn, "parameter_checks", {}).items():
            native = syn.translations[name]["translated_name"]
            if native in values:
                check(values[native], projection)
        projection._convergent_connect(first, 0, location_selector=self.location_selector,
                                       **values)
