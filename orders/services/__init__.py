"""Business actions on orders. Each is one ``transaction.atomic()``; rows are locked in one fixed
order everywhere — orders (by id), then stock levels (by id) — so no two actions deadlock; every
state change writes the order's history in the same transaction.

Services do not check who may act: pages, the admin and the API ask ``has_transition_perm``
(and, for partners, ownership) before calling them. ``user`` is recorded in the history.

One module per concern; every public name is re-exported here (``from orders.services import
order_place``):

- ``inputs``: what placement takes (``PlacementInput``), and a raw JSON body read into it;
- ``placement``: validate and create an order (``order_place``, ``order_place_idempotent``);
- ``allocation``: reserve stock for an order's lines by the policy of ``orders.allocation``;
- ``backorders``: fill waiting orders when stock is free;
- ``transitions``: confirm, hold, release, cancel (``order_transition``);
- ``lines``: substitute an item, cancel backordered units;
- ``idempotency``: the request fingerprint and the Idempotency-Key rows;
- ``late``: late orders;
- ``receipts``: stock booked in, and the backorders it fills;
- ``customers``: merge a duplicate customer into another (``customer_merge``);
- ``notes``: staff's internal notes in the order's history (``order_note_add``);
- ``estimates``: backorders' delivery estimates follow the purchase orders' expected dates.
"""

from .backorders import backorders_fill, backorders_sweep
from .common import DECIDED_STATUSES, changed_meanwhile
from .customers import (
    CustomerErased,
    CustomerMerged,
    CustomerMergeInput,
    customer_duplicates,
    customer_erase,
    customer_merge,
)
from .estimates import EstimatesRefreshed, backorder_estimates_refresh, expected_dates_passed
from .idempotency import idempotency_fingerprint, idempotency_keys_cleanup
from .inputs import (
    NOTES_MAX_LENGTH,
    AddressInput,
    CustomerInput,
    LineInput,
    PlacementInput,
    placement_input_from_json,
)
from .late import late_estimate, orders_late_flag
from .lines import (
    SUBSTITUTE_PRICE_RULE,
    order_line_cancel_backorder,
    order_line_substitute,
)
from .notes import NOTE_MAX_LENGTH, NoteInput, note_clean, order_note_add
from .placement import (
    ADDRESS_FIELDS,
    ADDRESS_LABELS,
    ADDRESS_REQUIRED,
    IdempotentPlacement,
    PlacedOrder,
    order_place,
    order_place_idempotent,
    order_placement,
)
from .receipts import stock_arrival_fill, stock_receipt_record
from .transitions import (
    BULK_MAX,
    BULK_TRANSITIONS,
    REASON_ACTIONS,
    REASON_MAX_LENGTH,
    STAFF_TRANSITIONS,
    BulkOutcome,
    available_transitions,
    order_cancel,
    order_confirm,
    order_hold,
    order_release,
    order_transition,
    orders_bulk_transition,
    reason_clean,
)

__all__ = [
    "CustomerMerged",
    "CustomerMergeInput",
    "customer_duplicates",
    "customer_merge",
    "CustomerErased",
    "customer_erase",
    "NOTE_MAX_LENGTH",
    "NoteInput",
    "note_clean",
    "order_note_add",
    "BULK_MAX",
    "BULK_TRANSITIONS",
    "BulkOutcome",
    "orders_bulk_transition",
    "EstimatesRefreshed",
    "backorder_estimates_refresh",
    "expected_dates_passed",
    "ADDRESS_FIELDS",
    "AddressInput",
    "CustomerInput",
    "LineInput",
    "PlacementInput",
    "placement_input_from_json",
    "ADDRESS_LABELS",
    "ADDRESS_REQUIRED",
    "DECIDED_STATUSES",
    "IdempotentPlacement",
    "PlacedOrder",
    "NOTES_MAX_LENGTH",
    "REASON_ACTIONS",
    "REASON_MAX_LENGTH",
    "STAFF_TRANSITIONS",
    "SUBSTITUTE_PRICE_RULE",
    "available_transitions",
    "backorders_fill",
    "backorders_sweep",
    "changed_meanwhile",
    "idempotency_fingerprint",
    "idempotency_keys_cleanup",
    "late_estimate",
    "order_cancel",
    "order_confirm",
    "order_hold",
    "order_line_cancel_backorder",
    "order_line_substitute",
    "order_place",
    "order_place_idempotent",
    "order_placement",
    "order_release",
    "order_transition",
    "orders_late_flag",
    "reason_clean",
    "stock_arrival_fill",
    "stock_receipt_record",
]
