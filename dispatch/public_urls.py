from django.urls import path

from dispatch import public

app_name = "public"

# The public online request form (线上联系客服), mounted at /request/.
urlpatterns = [
    path("", public.request_create, name="request"),
    path("done/", public.request_done, name="request-done"),
    path("status/", public.status, name="status"),
    path("areas/", public.area_search, name="area-search"),
]
