"""Where the project is published: the one setting the package's links derive from.

``REPOSITORY`` is the GitHub ``owner/name`` of the public repository, or ``""`` while there is
none. ``python notebooks/build.py`` writes everything that links to it from this value:
setup.cfg's ``url`` / ``project_urls``, the README's Open-in-Colab badges and the notebooks'
badges and install cell (``python notebooks/build.py --check`` fails when one is stale). While it
is empty there are no badges and no project URLs, and a notebook outside a clone installs only
from a wheel you upload (it says so in one sentence otherwise): no address is invented and no
package index name is assumed.

Example:
    >>> from kerasdoc.project import repository_url
    >>> repository_url("owner/name")
    'https://github.com/owner/name'
"""

from __future__ import annotations

#: GitHub "owner/name" of the public repository; "" while the project has none.
REPOSITORY = ""
#: The branch the badges and the notebooks' install cell take.
BRANCH = "main"


def repository_url(repository: str | None = None) -> str | None:
    """``https://github.com/<repository>`` (default: :data:`REPOSITORY`), or None while no
    repository is set."""
    repository = REPOSITORY if repository is None else repository
    return f"https://github.com/{repository}" if repository else None
