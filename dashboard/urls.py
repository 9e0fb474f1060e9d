from django.urls import path

from audit import views as audit_views
from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("tickets/", views.tickets, name="tickets"),
    path("breaches/", views.breaches, name="breaches"),
    path("breaches/<int:deadline_id>/review", views.breach_review, name="breach-review"),
    path("technicians/<int:pk>/", views.technician, name="technician"),
    path("access-log/", audit_views.access_log, name="access-log"),
]
