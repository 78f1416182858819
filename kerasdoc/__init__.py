"""kerasdoc: Keras 3 / TensorFlow models and pipelines for document and character images.

The package mirrors five published methods (see ``README.md``): a lightweight invoice ResNet,
RVL-CDIP region models with stacking, a numeric loss for digit recognition, a denoising pipeline
for corrupted digits, and ResNet transfer learning for Persian OCR.

Example:
    >>> import kerasdoc
    >>> from kerasdoc.models import get_model
    >>> model = get_model("digits_cnn")
    >>> model.output_shape
    (None, 10)
"""

import os as _os

# Quieter TensorFlow start-up for a command-line tool; users can still override it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
