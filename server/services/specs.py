"""Parsed specs are restored once per process and shared by every instance of a definition."""

from __future__ import annotations

import threading
from collections import OrderedDict

from bpmn.dialect import Dialect
from bpmn.serializer import SpecBundle, serializer_for

from ..models import ProcessDefinition


class SpecCache:
    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._items: OrderedDict[str, SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition: ProcessDefinition) -> SpecBundle:
        with self._lock:
            bundle = self._items.get(definition.id)
            if bundle is not None:
                self._items.move_to_end(definition.id)
                return bundle
        bundle = serializer_for(Dialect(definition.dialect)).load_specs(definition.specs_json)
        with self._lock:
            self._items[definition.id] = bundle
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return bundle
