"""deltaprop's own files: safe archives (npz + JSON metadata, no pickle) written atomically.

Below the engine: imports only NumPy and the standard library.
"""

from deltaprop.files.archive import FORMAT_VERSION, load_archive, save_archive
from deltaprop.files.atomic import atomic_write_bytes, remove_stale_temp_files

__all__ = ["FORMAT_VERSION", "atomic_write_bytes", "load_archive", "remove_stale_temp_files",
           "save_archive"]
