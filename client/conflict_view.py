"""A conflict as the lead reads it: which record (by its name), which field (by its label),
and both values in words, not the wire's keys, ids and JSON."""

from collections.abc import Callable
from typing import Any

from client.messages import field_label
from shared.i18n import t
from shared.schemas.collections import split_field_key

# Fields whose values are catalogue words: the field's name → the catalogue's prefix.
_WORDS = {
    "kind": "kind",
    "risk_level": "risk",
    "status": "status",
    "method": "method",
    "mood": "mood",
    "role": "role",
}
# Fields holding another record's id: the field → the collection it names.
_REFERENCES = {
    "area_id": "areas",
    "class_id": "classes",
    "student_id": "students",
    "checklist_template_id": "checklist_templates",
}
_PEOPLE = ("cleaner_id", "cleaner_ids", "teacher_ids", "settled_by")


class ConflictWords:
    """Says a conflict's parts in `lang`, reading names from the lead's store."""

    def __init__(
        self,
        lang: str,
        record: Callable[[str, str], dict[str, Any] | None],
        name_of: Callable[[str, Any], str],
        person: Callable[[str], str],
        when: Callable[[str], str],
    ) -> None:
        self.lang = lang
        self.record = record
        self.name_of = name_of
        self.person = person
        self.when = when

    def text(self, key: str) -> str:
        return t(key, self.lang)

    def record_name(self, collection: str, record_id: str) -> str:
        """The area's, class's or student's name; a round is "area · date"."""
        fields = self.record(collection, record_id) or {}
        if collection == "disinfection_rounds":
            area = self.name_of("areas", fields.get("area_id", ""))
            return " · ".join(p for p in (area, str(fields.get("round_date", ""))) if p)
        if fields.get("name"):
            return self.name_of(collection, record_id)
        for link in ("student_id", "class_id", "area_id"):
            if fields.get(link):
                return self.name_of(_REFERENCES[link], fields[link])
        return self.text(f"collection.{collection}")

    def field_name(self, collection: str, record_id: str, field: str) -> str:
        """The field's label; a checklist item (a map entry) adds the item's own name."""
        if field == "deleted":
            return self.text("field.deleted")
        name, entry = split_field_key(field)
        label = field_label(collection, (name,), self.lang)
        if entry is None:
            return label
        item = self._item_name(collection, record_id, entry)
        return f"{label}: {item or entry}"

    def _item_name(self, collection: str, record_id: str, item_id: str) -> str:
        fields = self.record(collection, record_id) or {}
        if collection == "disinfection_rounds":
            area = self.record("areas", str(fields.get("area_id", ""))) or {}
            fields = (
                self.record("checklist_templates", str(area.get("checklist_template_id"))) or {}
            )
        elif collection != "checklist_templates":
            return ""
        item = (fields.get("items") or {}).get(item_id) or {}
        return str((self.lang == "en" and item.get("en")) or item.get("zh") or "")

    def value(self, field: str, value: Any) -> str:
        """A value as people read it: yes/no, names for ids, catalogue words, a ticked item
        with its note and dosage."""
        name, entry = split_field_key(field)
        if field == "deleted":
            return self.text("ui.value.deleted" if value else "ui.value.kept")
        if value is None or value == "" or value == []:
            return self.text("ui.value.empty")
        if isinstance(value, bool):
            return self.text("ui.value.yes" if value else "ui.value.no")
        if name in _WORDS and isinstance(value, str):
            return self.text(f"{_WORDS[name]}.{value}")
        if name in _REFERENCES:
            return self.name_of(_REFERENCES[name], value) or str(value)
        if name in _PEOPLE:
            ids = value if isinstance(value, list) else [value]
            return ", ".join(self.person(str(i)) or str(i)[:8] for i in ids)
        if name.endswith("_at") and isinstance(value, str):
            return self.when(value)
        if isinstance(value, dict):
            return self._entry(value) if entry is not None else self._map(value)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def _entry(self, value: dict[str, Any]) -> str:
        """A round's item (done or not, note, dosage, reading) or a checklist's item."""
        parts = []
        if "done" in value:
            parts.append(self.text("ui.item_done" if value["done"] else "ui.item_not_done"))
        if value.get("zh"):
            parts.append(str((self.lang == "en" and value.get("en")) or value["zh"]))
        if value.get("retired"):
            parts.append(self.text("field.part.retired"))
        dosage = value.get("dosage")
        if isinstance(dosage, dict):
            unit = self.text(f"unit.{dosage.get('unit', 'mg_per_l')}")
            amount = dosage.get("concentration", "")
            amount = f"{amount:g}" if isinstance(amount, float) else amount
            parts.append(f"{dosage.get('disinfectant', '')} {amount} {unit}")
        if value.get("reading") is not None and not isinstance(value["reading"], dict):
            parts.append(f"{self.text('field.part.reading')} {value['reading']}")
        if value.get("note"):
            parts.append(str(value["note"]))
        if value.get("at"):
            parts.append(self.when(str(value["at"])))
        return " · ".join(parts) or self.text("ui.value.empty")

    def _map(self, value: dict[str, Any]) -> str:
        return "; ".join(f"{k}: {self.value(k, v)}" for k, v in value.items())
