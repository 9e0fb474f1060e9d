from django.contrib import admin
from django.urls import include, path

from ops import views as ops_views

urlpatterns = [
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/regions/", include("regions.api.urls")),
    path("api/v1/", include("api.urls")),
    path("request/", include("dispatch.public_urls")),
    path("dispatch/", include("dispatch.urls")),
    path("tech/", include("dispatch.technician_urls")),
    path("files/", include("dispatch.media_urls")),
    path("review/", include("complaints.urls")),
    path("manager/", include("dashboard.urls")),
    path("complaint/", include("complaints.public_urls")),
    path("", include("accounts.urls")),
]
