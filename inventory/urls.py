from django.urls import path

from . import cycle_count_views, views

app_name = "inventory"
urlpatterns = [
    path("", views.stock_list, name="stock"),
    path("levels/<int:pk>/adjust/", views.stock_adjust, name="adjust"),
    path("products/<str:sku>/ledger/", views.product_ledger, name="ledger"),
    # Count sheets; posting one is orders.stock_views.cycle_count_post (oms/urls.py).
    path("counts/", cycle_count_views.cycle_count_list, name="counts"),
    path("counts/new/", cycle_count_views.cycle_count_new, name="count_new"),
    path("counts/<str:number>/", cycle_count_views.cycle_count_page, name="count"),
    path("counts/<str:number>/print/", cycle_count_views.cycle_count_print, name="count_print"),
    path(
        "counts/<str:number>/cancel/",
        cycle_count_views.cycle_count_cancel_view,
        name="count_cancel",
    ),
]
