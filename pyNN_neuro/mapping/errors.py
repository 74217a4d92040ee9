"""The one error type of the mapping compiler."""


class MappingError(Exception):
    """A network does not fit the hardware profile, or a mapping breaks one of its limits.

    The message says what does not fit, where, and by how much.
    """
