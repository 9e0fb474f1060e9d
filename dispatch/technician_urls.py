from django.urls import path

from dispatch import technician as views
from dispatch import technician_complaints

app_name = "technician"

urlpatterns = [
    path("", views.home, name="home"),
    path("live", views.home_live, name="home-live"),
    path("duty", views.duty_set, name="duty"),
    path("position", views.position_record, name="position"),
    path("position/stop", views.position_stop, name="position-stop"),
    path("offers/<int:offer_id>/accept", views.offer_accept_view, name="offer-accept"),
    path("offers/<int:offer_id>/decline", views.offer_decline_view, name="offer-decline"),
    path("jobs/<str:number>/", views.job, name="job"),
    path("jobs/<str:number>/step", views.job_step, name="job-step"),
    path("jobs/<str:number>/complete", views.job_complete, name="job-complete"),
    path("jobs/<str:number>/quote", views.job_quote, name="job-quote"),
    path("jobs/<str:number>/insurance", views.job_insurance_sell, name="job-insurance"),
    path("complaints/", technician_complaints.complaint_list, name="complaints"),
    path("complaints/<int:pk>/", technician_complaints.complaint_detail, name="complaint"),
    path("complaints/<int:pk>/statement", technician_complaints.complaint_statement, name="complaint-statement"),
    path("complaints/<int:pk>/files", technician_complaints.complaint_files, name="complaint-files"),
]
