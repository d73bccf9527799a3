"""Business actions of fulfillment: shipments, pick lists, packing, shipping, delivery, feedback.

Each action is one ``transaction.atomic()`` and takes its row locks in one fixed order
everywhere: the order row first, then shipments (by id), then stock levels (by id, through
``inventory.locks``). Every change writes the order's history through ``orders.events`` in the
same transaction. The order's status is derived from its shipments and lines by one function,
``rollup._rollup``, called by every action that changes a shipment, so the two never disagree.

One module per step of the way, every public name re-exported here:

- ``shipments``: shipments made from reservations, cancelled with their order;
- ``picking``: pick lists;
- ``carriers``: prices, the service choice, tracking numbers, the carrier's tracking updates;
- ``packing``, ``shipping``, ``delivery``, ``feedback``;
- ``rollup``: the order's status from its shipments.
"""

from .carriers import (
    TRACKING_NUMBER_RE,
    CarrierProposal,
    DeliveryUpdate,
    carrier_proposals,
    carrier_service_choose,
    carrier_service_cost,
    carrier_services_exist,
    shipment_estimated_weight,
    tracking_update,
)
from .delivery import DeliveryResult, shipment_deliver
from .feedback import (
    FEEDBACK_SALT,
    feedback_order_from_token,
    feedback_submit,
    feedback_token,
    feedback_url,
)
from .packing import PackedLine, PackInput, default_parcel_cm, packed_lines, shipment_pack
from .picking import MAX_PICK_LIST_SIZE, picklist_create, picklists_for_orders
from .rollup import order_status_rollup
from .shipments import shipment_cancel, shipments_cancel_for_order, shipments_create_for_orders
from .shipping import ShipInput, shipment_ship

__all__ = [
    "FEEDBACK_SALT",
    "MAX_PICK_LIST_SIZE",
    "TRACKING_NUMBER_RE",
    "CarrierProposal",
    "DeliveryResult",
    "DeliveryUpdate",
    "PackInput",
    "PackedLine",
    "ShipInput",
    "carrier_proposals",
    "carrier_service_choose",
    "carrier_service_cost",
    "carrier_services_exist",
    "default_parcel_cm",
    "feedback_order_from_token",
    "feedback_submit",
    "feedback_token",
    "feedback_url",
    "order_status_rollup",
    "packed_lines",
    "picklist_create",
    "picklists_for_orders",
    "shipment_cancel",
    "shipment_deliver",
    "shipment_estimated_weight",
    "shipment_pack",
    "shipment_ship",
    "shipments_cancel_for_order",
    "shipments_create_for_orders",
    "tracking_update",
]
