from django.urls import path

from . import views

app_name = "inventory"
urlpatterns = [
    path("", views.stock_list, name="stock"),
    path("levels/<int:pk>/adjust/", views.stock_adjust, name="adjust"),
    path("products/<str:sku>/ledger/", views.product_ledger, name="ledger"),
]
