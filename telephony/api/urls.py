from django.urls import path

from telephony import views
from telephony.api.views import CallIncomingApi, CallRecordingApi

urlpatterns = [
    path("incoming", CallIncomingApi.as_view(), name="call-incoming"),
    path("<int:id>/recording", CallRecordingApi.as_view(), name="call-recording"),
    # Not an API operation: the ticket page's player streams the recording through a personal, expiring link.
    path("recordings/<str:token>/", views.recording_open, name="call-recording-open"),
]
