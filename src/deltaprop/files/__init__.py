"""deltaprop's own files: safe archives (npz + JSON metadata, no pickle) written atomically.

Below the engine: imports only NumPy and the standard library.
"""

from deltaprop.files.archive import FORMAT_VERSION, atomic_write_bytes, load_archive, save_archive

__all__ = ["FORMAT_VERSION", "atomic_write_bytes", "load_archive", "save_archive"]
