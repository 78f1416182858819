"""The names that flags and the library accept, importable without TensorFlow.

``kerasdoc --help``, ``kerasdoc recipe`` and ``kerasdoc list`` must not start TensorFlow, yet
their flags offer the library's choices. The choices live here, once: :mod:`kerasdoc.distribute`
takes :data:`STRATEGIES` from this module, ``kerasdoc.generators.spec`` and ``.ops`` take
:data:`COLOR_MODES` and :data:`RESIZE_MODES` (this module imports nothing: it is the one module
of kerasdoc that ``kerasdoc.generators`` may import).

Example:
    >>> STRATEGIES[0], COLOR_MODES
    ('auto', ('grayscale', 'rgb'))
"""

#: ``tf.distribute`` strategy names of :func:`kerasdoc.distribute.get_strategy`.
STRATEGIES = ("auto", "one", "mirrored", "multiworker", "tpu")
#: Image colour modes of :class:`kerasdoc.generators.spec.ImageSpec` (1 and 3 channels).
COLOR_MODES = ("grayscale", "rgb")
#: How an :class:`kerasdoc.generators.spec.ImageSpec` reaches its size.
RESIZE_MODES = ("stretch", "pad", "crop")
