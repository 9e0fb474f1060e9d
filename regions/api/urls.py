from django.urls import path

from regions.api.views import DivisionSearchApi

app_name = "regions-api"

urlpatterns = [
    path("search", DivisionSearchApi.as_view(), name="search"),
]
