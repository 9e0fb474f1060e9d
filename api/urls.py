from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("tickets", views.TicketsApi.as_view(), name="tickets"),
    path("tickets/<str:number>", views.TicketDetailApi.as_view(), name="ticket"),
    *[
        path(f"tickets/<str:number>/{name}", view.as_view(), name=f"ticket-{name}")
        for name, view in views.TRANSITION_VIEWS.items()
    ],
    path("tickets/<str:number>/complaints", views.ComplaintFileApi.as_view(), name="complaint-file"),
    path("complaints/<str:number>", views.ComplaintStatusApi.as_view(), name="complaint"),
    path("customers", views.CustomerLookupApi.as_view(), name="customer-lookup"),
    path("regions", views.RegionSearchApi.as_view(), name="regions"),
    path("technicians", views.TechnicianStatusApi.as_view(), name="technicians"),
    path("calls/", include("telephony.api.urls")),
    re_path(r"^.*$", views.NotFoundApi.as_view(), name="not-found"),
]
