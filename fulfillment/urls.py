from django.urls import path

from . import views

app_name = "fulfillment"

urlpatterns = [
    path("shipments/", views.shipment_list, name="shipments"),
    path("picklists/create/", views.picklist_create, name="picklist_create"),
    path("picklists/from-orders/", views.picklist_from_orders, name="picklist_from_orders"),
    path("picklists/<str:number>/", views.picklist_detail, name="picklist"),
    path("picklists/<str:number>/pdf/", views.picklist_pdf, name="picklist_pdf"),
    path("shipments/<str:number>/", views.shipment_detail, name="shipment"),
    path("shipments/<str:number>/pack/", views.shipment_pack, name="shipment_pack"),
    path("shipments/<str:number>/ship/", views.shipment_ship, name="shipment_ship"),
    path("shipments/<str:number>/deliver/", views.shipment_deliver, name="shipment_deliver"),
    path("shipments/<str:number>/label.pdf", views.shipment_label, name="shipment_label"),
    path(
        "shipments/<str:number>/packing-slip.pdf",
        views.shipment_packing_slip,
        name="shipment_packing_slip",
    ),
    path("tracking/", views.tracking_webhook, name="tracking"),
    path("feedback/<str:token>/", views.feedback, name="feedback"),
]
