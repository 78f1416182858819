"""The examples in the docstrings run and print what they say (doctest)."""

import doctest
import importlib

import pytest

MODULES = [
    "kerasdoc", "kerasdoc.losses", "kerasdoc.metrics", "kerasdoc.reporting",
    "kerasdoc.models.registry", "kerasdoc.models.digits", "kerasdoc.models.blocks",
    "kerasdoc.datasets", "kerasdoc.testing", "kerasdoc.generators.splits",
    "kerasdoc.generators.sources",
    "kerasdoc.experiments", "kerasdoc.models.rvl", "kerasdoc.stacking", "kerasdoc.robustness",
    "kerasdoc.generators.corruptions",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0
