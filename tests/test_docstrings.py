"""Every docstring example in every module of the package runs and prints what it says (doctest).

``HAVE_EXAMPLES`` names the modules that must also *have* an example (the public entry points);
every other module's examples, where it has any, run all the same, so none of them can rot.
"""

import doctest
import importlib
import pkgutil

import pytest

import kerasdoc

HAVE_EXAMPLES = {
    "kerasdoc", "kerasdoc.losses", "kerasdoc.metrics", "kerasdoc.reporting",
    "kerasdoc.models.registry", "kerasdoc.models.digits", "kerasdoc.models.blocks",
    "kerasdoc.datasets", "kerasdoc.testing", "kerasdoc.generators.splits",
    "kerasdoc.generators.sources", "kerasdoc.experiments", "kerasdoc.models.rvl",
    "kerasdoc.stacking", "kerasdoc.robustness", "kerasdoc.generators.corruptions",
}
MODULES = sorted({m.name for m in pkgutil.walk_packages(kerasdoc.__path__, "kerasdoc.")
                  if m.name != "kerasdoc.__main__"} | HAVE_EXAMPLES)


def test_the_walk_finds_every_package():
    assert {"kerasdoc.generators.image_generator", "kerasdoc.experiments.invoice",
            "kerasdoc.robustness.pipeline", "kerasdoc.training.schedule"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if name in HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
