from django.urls import include, path

urlpatterns = [
    path("", include("corpbank.web.urls")),
]
