from django.urls import path

app_name = "public"

# The public online request form (线上联系客服) is built in dispatch/public.py.
urlpatterns: list = []
