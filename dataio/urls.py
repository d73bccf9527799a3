"""Imports and exports of products, stock and orders (CSV / Excel)."""

from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.index, name="index"),
    path("export/products/", views.export_products, name="export_products"),
    path("export/orders/", views.export_orders, name="export_orders"),
    path("import/<slug:kind>/", views.upload, name="upload"),
    path("import/<slug:kind>/<str:token>/", views.preview, name="preview"),
    path("jobs/<int:pk>/", views.job, name="job"),
    path("jobs/<int:pk>/status/", views.job_status_json, name="job_status"),
]
