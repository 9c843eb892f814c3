import json
from dataclasses import dataclass


@dataclass
class Invoice:
    """A bill sent to a customer."""

    number: str
    total: float

    def to_json(self) -> str:
        return json.dumps({"number": self.number, "total": round_total(self.total)})


def round_total(value: float) -> float:
    return round(value, 2)
