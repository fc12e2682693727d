"""A reader thread: decodes the next record batches while the kernels work on this one.

Arrow's Parquet decoding and the compiled kernels both release the GIL, so on two cores the
read of batch ``i + 1`` overlaps the sweep over batch ``i``. At most ``depth`` batches wait
decoded, so memory grows by ``depth`` batches, not with the input.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
DEPTH = 2
_END = object()


def prefetched(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """The items of ``items`` in order, produced by a thread up to ``depth`` ahead; an error
    of the producer is raised here, where the item would have been; closing this generator
    early stops the thread."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((_END, exc))
            return
        put((_END, None))

    thread = threading.Thread(target=produce, name="acprn-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = box.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()
