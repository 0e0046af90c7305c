from __future__ import annotations

from django.urls import path

from queues import views

app_name = "queues"

urlpatterns = [
    path("book/", views.choose_member, name="choose-member"),
    path("book/<uuid:member_id>/", views.book_consultation, name="book"),
    path("waiting/<uuid:ticket_id>/", views.waiting_room, name="waiting"),
    path("waiting/<uuid:ticket_id>/answer/", views.answer, name="answer"),
    path("waiting/<uuid:ticket_id>/cancel/", views.cancel, name="cancel"),
    path("console/", views.console, name="console"),
    path("console/panel/", views.console_panel, name="console-panel"),
    path("files/<uuid:attachment_id>/", views.attachment, name="attachment"),
]
