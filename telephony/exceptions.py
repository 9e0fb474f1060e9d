from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class CallIdReused(ApplicationError):
    def __init__(self, external_id: str) -> None:
        super().__init__(
            _("Call %(id)s was already recorded with another caller or time.") % {"id": external_id},
            {"external_id": external_id},
        )


class RecordingAlreadyAttached(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This call already has a different recording."))


class RecordingTypeNotAllowed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Send the recording as WAV, MP3, M4A, Ogg or WebM audio."))


class RecordingLinkInvalid(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This recording link is not valid or has expired. Reload the ticket page."))
