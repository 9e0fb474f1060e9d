from django.urls import path

from dispatch import media_views

app_name = "files"

urlpatterns = [
    path("jobs/<str:number>/upload/", media_views.upload, name="upload"),
    path("tickets/<str:number>/gallery/", media_views.gallery, name="gallery"),
    path("<str:token>/", media_views.open_file, name="open"),
]
