"""Business actions of purchasing. Each is one ``transaction.atomic()``; a purchase order is
locked before its lines, and both before anything receiving touches (orders, then stock rows:
docs/decisions.md); every action writes the purchase order's history in the same transaction.

Services do not check who may act: the API and the admin ask for the permissions of
``purchasing.transitions.ACTIONS`` before calling them. ``user`` is recorded in the history.

- ``suppliers``: suppliers and what they sell;
- ``purchase_orders``: create, send, close, cancel, move the expected date;
- ``receiving``: stock received against a purchase order, and the backorders it fills;
- ``transfers``: stock moved between warehouses (request, ship, receive, cancel).
"""

from .purchase_orders import (
    PurchaseOrderDetail,
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_send,
)
from .receiving import (
    PurchaseOrderReceipt,
    ReceivedLine,
    line_reference,
    purchase_order_receive,
)
from .suppliers import (
    SupplierProductUpsert,
    supplier_create,
    supplier_product_upsert,
    supplier_update,
)
from .transfers import (
    TransferDetail,
    TransferLineInput,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

__all__ = [
    "PurchaseOrderDetail",
    "PurchaseOrderLineInput",
    "PurchaseOrderReceipt",
    "ReceivedLine",
    "SupplierProductUpsert",
    "TransferDetail",
    "TransferLineInput",
    "line_reference",
    "purchase_order_cancel",
    "purchase_order_close",
    "purchase_order_create",
    "purchase_order_expected_at_change",
    "purchase_order_receive",
    "purchase_order_send",
    "supplier_create",
    "supplier_product_upsert",
    "supplier_update",
    "transfer_cancel",
    "transfer_create",
    "transfer_receive",
    "transfer_ship",
]
