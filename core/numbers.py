"""Human-readable document numbers (``SO-000123``, ``SH-000077``, ``RMA-000009``).

One generator for every document, as Oscar's ``OrderNumberGenerator``: the number is derived from
the row's primary key, which the database hands out without any lock we would have to hold for
the rest of the transaction. Gaps (rolled-back inserts) are fine; duplicates are impossible.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NumberFormat:
    prefix: str
    width: int = 6

    def for_pk(self, pk: int) -> str:
        return f"{self.prefix}-{pk:0{self.width}d}"

    def placeholder(self, token: str) -> str:
        """A unique temporary value used between INSERT and the UPDATE that sets the number."""
        return f"{self.prefix}-new-{token}"


ORDER_NUMBER = NumberFormat("SO")
SHIPMENT_NUMBER = NumberFormat("SH")
RETURN_NUMBER = NumberFormat("RMA")
PICK_LIST_NUMBER = NumberFormat("PL")
PURCHASE_ORDER_NUMBER = NumberFormat("PO")
CYCLE_COUNT_NUMBER = NumberFormat("CC")
