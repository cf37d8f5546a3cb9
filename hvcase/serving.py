"""What a serving process sets for itself, once its app is made (``wsgi.py``)."""

from __future__ import annotations

import gc

from flask import Flask


def tune_garbage_collection(app: Flask) -> None:
    """Collect cyclic garbage less often than Python's default.

    By default a young-generation collection runs every 700 net allocations of container
    objects: a sync request that writes and reads a few hundred ORM records triggers several.
    ``gc.freeze()`` sets what exists once the app is made (modules, mappers, compiled
    statements) aside from every later collection, and ``GC_THRESHOLD`` raises the young
    generation's threshold (0 keeps Python's default). Reference counting still frees almost
    everything at once; only garbage held in cycles waits for a collection (docs/performance.md).
    """
    threshold = app.config["GC_THRESHOLD"]
    if not threshold:
        return
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)
