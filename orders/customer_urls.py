from django.urls import path

from . import customer_views, views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/merge/", customer_views.customer_merge, name="merge"),
    path("<int:pk>/export/", customer_views.customer_export, name="export"),
    path("<int:pk>/erase/", customer_views.customer_erase, name="erase"),
]
