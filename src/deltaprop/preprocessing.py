"""``deltaprop.preprocessing`` is :mod:`deltaprop.data.preprocessing` (the public name kept at the
top)."""

import sys

from deltaprop.data import preprocessing as _module

sys.modules[__name__] = _module
