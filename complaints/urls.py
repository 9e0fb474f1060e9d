from django.urls import path, re_path

from complaints import views

app_name = "complaints"

# The reviewer's screens, mounted at /review/.
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.workspace, name="workspace"),
    path("<int:pk>/acknowledge", views.acknowledge, name="acknowledge"),
    path("<int:pk>/decide", views.decide, name="decide"),
    path("<int:pk>/request-evidence", views.request_evidence, name="request-evidence"),
    path("<int:pk>/reinspect", views.reinspect, name="reinspect"),
    path("requests/<int:pk>/close", views.close_request, name="close-request"),
    re_path(r"^decisions/(?P<pk>\d+)/(?P<action>approve|send-back)$", views.approval, name="approval"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence-file"),
    path("evidence/<int:pk>/display", views.evidence_display, name="evidence-display"),
    path("evidence/<int:pk>/difference/<int:media_id>", views.evidence_difference_view, name="evidence-difference"),
    path("tickets/<str:number>/file", views.file_for_ticket, name="file"),
]
