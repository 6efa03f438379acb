"""Python's full garbage collections while the person rests, not while a screen opens (#18).

CPython collects its oldest generation when enough objects have outlived two younger
collections. With SQLAlchemy, the models, pint and Textual loaded, that pass walks a few
hundred thousand objects: 0.1–0.27 s measured on the benchmark machine, about one screen
opening in four (``bench/RESULTS.md``, fourth pass), longer than the screen itself.

So, the way Textual pauses the collector during smooth scrolling (``PAUSE_GC_ON_SCROLL``):

- once the database layer is loaded, the objects alive then (modules, classes, the unit
  registry, the mapped models) are frozen: no collection walks them again;
- the oldest generation is not collected on its own any more, but by :meth:`tick` (the app
  calls it every second) once the person has pressed nothing for :data:`QUIET_S`, or, when
  they never stop that long, after :data:`AT_MOST_PENDING` younger passes whatever they do;
- the youngest two generations are collected as before (they are cheap and keep short-lived
  cycles, a closed screen's widgets, from piling up).

:meth:`stop` gives the process back its thresholds and unfreezes (the test suite runs many
apps, one after the other, in one process).
"""

from __future__ import annotations

import gc
import threading

QUIET_S = 2.0
"""Seconds without a key press before a pending full collection runs."""
AT_MOST_PENDING = 200
"""Younger-generation passes after which the full collection runs even while the person is
busy (CPython's own trigger is 10, and then only when the survivors have grown by a
quarter)."""
NEVER = 1_000_000_000


class RestingCollector:
    """The full collections of one app (see the module's docstring)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._frozen = False
        self._lock = threading.Lock()  # freeze runs in the worker that loads the modules
        self.collections = 0
        """Full collections run by :meth:`tick` (tests)."""

    def start(self) -> None:
        """Stop the oldest generation being collected on its own."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, NEVER)

    def freeze(self) -> None:
        """Leave every object alive now out of the collections to come (once; any thread:
        nothing if the app has stopped)."""
        with self._lock:
            if self._saved is not None and not self._frozen:
                gc.freeze()
                self._frozen = True

    def tick(self, quiet_for_s: float) -> bool:
        """Run the pending full collection if the person has been quiet long enough (or it
        has waited too long); True if it ran."""
        if self._saved is None:
            return False
        pending = gc.get_count()[2]
        due = self._saved[2] if quiet_for_s >= QUIET_S else AT_MOST_PENDING
        if pending < due:
            return False
        gc.collect()
        self.collections += 1
        return True

    def stop(self) -> None:
        """The process's thresholds back, nothing frozen."""
        with self._lock:
            if self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None
            if self._frozen:
                gc.unfreeze()
                self._frozen = False
