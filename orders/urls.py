from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_create, name="create"),
    path("export/", views.order_list_export, name="export"),
    path("bulk/<str:name>/", views.order_bulk, name="bulk"),
    path("products/lookup/", views.product_lookup, name="product-lookup"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/notes/", views.order_note_add, name="note-add"),
    path("<str:number>/actions/<str:name>/", views.order_transition, name="transition"),
    path("<str:number>/lines/<int:line_id>/substitute/", views.line_substitute, name="substitute"),
    path(
        "<str:number>/lines/<int:line_id>/cancel-backorder/",
        views.line_cancel_backorder,
        name="cancel-backorder",
    ),
]
