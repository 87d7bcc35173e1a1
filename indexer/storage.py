"""Reading the index files through one shared, read-only memory map per file, copying nothing.

Whoosh's own storage maps a segment file and then wraps each part of it in a ``BufferFile``,
whose ``BytesIO`` *copies* the mapped bytes: every reader holds a private copy of the whole
index (about 110 MB on 2,000 documents), so a server's memory grew with its threads, and
opening a searcher cost 70 ms of copying. Plain file reads copy nothing but make every posting
look-up a seek and a read through two Python layers (the similar-practices search on a case
page took twice as long).

Here every file is mapped once per process (the maps are shared by every reader of every
thread and released when the last reader of the file closes), and a reader's files are
:class:`MappedFile` objects: their own position over the shared map, reads that slice it. The
page cache holds the index once, counted once in the process's resident memory. Segment files
are written once and never changed (Whoosh writes new ones and deletes the old), so a map stays
valid for as long as anyone reads it, also after the file is deleted.

This module uses two of Whoosh's internals (``StructFile``'s ``file``/``get`` protocol, which
``BufferFile`` also follows, and ``FileStorage.open_file``); ``tests/test_search.py`` checks
that a reader maps each file once and copies none of it.
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref
from array import array

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import _SIZEMAP, IS_LITTLE, StructFile

_lock = threading.Lock()
_maps: weakref.WeakValueDictionary[tuple, _Map] = weakref.WeakValueDictionary()


class _Map:
    """One file's read-only map, shared by every reader of it in this process. The map closes
    itself when the last reader lets go (no ``__del__`` here: it would run before the cache's
    weak reference is cleared, so another thread could be handed a closed map)."""

    __slots__ = ("data", "__weakref__")

    def __init__(self, fd: int, size: int) -> None:
        self.data = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else b""


def _shared_map(path: str) -> _Map:
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)  # a new file is a new map
        with _lock:
            found = _maps.get(key)
            if found is None:
                found = _maps[key] = _Map(fh.fileno(), st.st_size)
        return found


class _Region:
    """A read-only file over ``length`` bytes of a shared map from ``start``: its own position,
    reads that slice the map. Enough of the file protocol for Whoosh and pickle."""

    __slots__ = ("_map", "_data", "_start", "_end", "_pos", "closed")

    def __init__(self, shared: _Map, start: int, length: int) -> None:
        self._map = shared  # keeps the map open while this region is read
        self._data = shared.data
        self._start, self._end = start, start + length
        self._pos = start
        self.closed = False

    def sub(self, offset: int, length: int) -> _Region:
        return _Region(self._map, self._start + offset, length)

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = self._end if size is None or size < 0 else min(self._end, start + size)
        if end <= start:
            return b""
        self._pos = end
        return self._data[start:end]

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        end = self._end if size is None or size < 0 else min(self._end, self._pos + size)
        found = self._data.find(b"\n", self._pos, end)
        return self.read((found + 1 if found >= 0 else end) - self._pos)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: self._start, 1: self._pos, 2: self._end}[whence]
        self._pos = max(self._start, base + offset)
        return self._pos - self._start

    def tell(self) -> int:
        return self._pos - self._start

    def close(self) -> None:
        self.closed = True
        self._data, self._map = b"", None  # the map goes with its last reader


class MappedFile(StructFile):
    """A Whoosh file over a region of a shared map (what ``BufferFile`` is, without the copy)."""

    def __init__(self, region: _Region, name: str | None = None, onclose=None) -> None:  # noqa: ANN001
        super().__init__(region, name=name, onclose=onclose)  # not a real file: reads go through read()
        self._data, self._base = region._data, region._start  # for get(), Whoosh's most frequent read

    def subset(self, position: int, length: int, name: str | None = None) -> MappedFile:
        return MappedFile(self.file.sub(position, length), name=name or self._name)

    def get(self, position: int, length: int) -> bytes:
        at = self._base + position
        return self._data[at: at + length]

    def close(self) -> None:
        super().close()
        self._data = b""

    def get_array(self, position: int, typecode: str, length: int) -> array:
        out = array(typecode)
        out.frombytes(self.get(position, length * _SIZEMAP[typecode]))
        if IS_LITTLE:
            out.byteswap()
        return out


class MappedStorage(FileStorage):
    """A Whoosh ``FileStorage`` whose files are read through the shared maps. Writing is
    Whoosh's own; compound segment files are split into parts by :meth:`MappedFile.subset`
    (``supports_mmap`` is off, so Whoosh does not map, and copy, them itself)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, supports_mmap=False)

    def open_file(self, name: str, **kwargs: object) -> MappedFile:
        shared = _shared_map(self._fpath(name))
        return MappedFile(_Region(shared, 0, len(shared.data)), name=name, onclose=kwargs.get("onclose"))
