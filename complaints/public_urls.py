from django.urls import path

from complaints import public

app_name = "complaint_public"

# The customer's complaint pages, mounted at /complaint/.
urlpatterns = [
    path("", public.file, name="file"),
    path("status/", public.lookup, name="lookup"),
    path("tickets/<int:pk>/", public.ticket_complaints, name="ticket"),
    path("<int:pk>/evidence", public.upload, name="upload"),
    path("<int:pk>/appeal", public.appeal, name="appeal"),
]
