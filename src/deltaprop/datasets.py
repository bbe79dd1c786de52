"""``deltaprop.datasets`` is :mod:`deltaprop.data.datasets` (the public name kept at the top)."""

import sys

from deltaprop.data import datasets as _module

sys.modules[__name__] = _module
