from django.urls import path

from corpbank.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
