from django.urls import include, path

from . import transfer_views, views

app_name = "purchasing"
urlpatterns = [
    path("", views.purchase_order_list, name="orders"),
    path("orders/new/", views.purchase_order_create_view, name="order_create"),
    path("orders/<str:number>/", views.purchase_order_detail, name="order"),
    path(
        "orders/<str:number>/actions/<str:name>/",
        views.purchase_order_action,
        name="order_action",
    ),
    path(
        "orders/<str:number>/expected-date/",
        views.purchase_order_expected_date,
        name="order_expected_date",
    ),
    path("orders/<str:number>/receive/", views.purchase_order_receive_view, name="receive"),
    path("suppliers/", views.supplier_list, name="suppliers"),
    path("suppliers/new/", views.supplier_create_view, name="supplier_create"),
    path("suppliers/<str:code>/", views.supplier_detail, name="supplier"),
    path("suppliers/<str:code>/edit/", views.supplier_edit, name="supplier_edit"),
    path(
        "suppliers/<str:code>/products/new/",
        views.supplier_product_add,
        name="supplier_product_add",
    ),
    path(
        "suppliers/<str:code>/products/lookup/",
        views.supplier_product_lookup,
        name="supplier_product_lookup",
    ),
    path(
        "suppliers/<str:code>/products/<str:sku>/",
        views.supplier_product_edit,
        name="supplier_product_edit",
    ),
    path("transfers/", include(transfer_views.urlpatterns)),
]
