"""kerasdoc's benchmarks: ``python -m benchmarks.NAME`` from the repository root.

Every benchmark but this package's init imports TensorFlow; it is imported here first, through
:func:`kerasdoc.tfstartup.import_tensorflow_quietly`, so that TensorFlow's start-up lines
("oneDNN custom operations are on", the full wheel's ``cuInit`` failure without a GPU) stay off
the benchmarks' consoles too, as off every ``kerasdoc`` command's; real errors still show.
"""

from kerasdoc.tfstartup import import_tensorflow_quietly

import_tensorflow_quietly()
