"""Imports and exports of products, stock and orders (CSV / Excel)."""

app_name = "imports"
urlpatterns: list = []
