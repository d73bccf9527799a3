from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("new/", views.return_create, name="create"),
    path("c/<str:token>/", views.customer_return, name="customer"),
    path("<str:number>/", views.return_detail, name="detail"),
    path("<str:number>/<str:action>/", views.return_action, name="action"),
]
