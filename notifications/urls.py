from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("<str:token>/", views.tracking, name="order"),
]
