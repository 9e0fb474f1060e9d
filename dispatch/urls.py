from django.urls import path, re_path

from dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/areas", views.division_options, name="division-options"),
    path("board/", views.board, name="board"),
    path("board/table", views.board_table, name="board-table"),
    path("board/on-duty", views.board_on_duty, name="board-on-duty"),
    path("tickets/<str:number>/", views.ticket_page, name="ticket"),
    path("tickets/<str:number>/reveal", views.phone_reveal, name="phone-reveal"),
    path("tickets/<str:number>/dispatch", views.ticket_dispatch, name="ticket-dispatch"),
    path("tickets/<str:number>/insurance", views.insurance_sell, name="insurance-sell"),
    re_path(r"^tickets/(?P<number>[^/]+)/(?P<action>cancel|wait|resume)$", views.ticket_action, name="ticket-action"),
]
