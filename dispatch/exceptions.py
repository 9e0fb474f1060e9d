from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class InvalidPhone(ApplicationError):
    def __init__(self, raw: str) -> None:
        super().__init__(_("This is not a valid phone number. Check the digits (mobile: 11 digits)."), {"phone": raw})


class TransitionNotAllowed(ApplicationError):
    def __init__(self, current: str, to: str) -> None:
        super().__init__(
            _("This ticket cannot go from “%(current)s” to “%(to)s”.") % {"current": current, "to": to},
            {"from": current, "to": to},
        )


class TicketChanged(ApplicationError):
    def __init__(self, number: str) -> None:
        super().__init__(
            _("Ticket %(number)s was changed by someone else. Reload it and try again.") % {"number": number}
        )


class ReasonRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Give a reason."))


class OutsideServiceArea(ApplicationError):
    def __init__(self, path: str, nearest: list[str] | None = None) -> None:
        message = _("%(path)s is outside our service area.") % {"path": path}
        if nearest:
            message = f"{message} " + _("Nearest served: %(places)s.") % {"places": "、".join(nearest)}
        super().__init__(message, {"path": path, "nearest": nearest or []})


class DuplicateOpenTicket(ApplicationError):
    def __init__(self, number: str) -> None:
        super().__init__(
            _("Ticket %(number)s is already open for this phone and address.") % {"number": number}, {"number": number}
        )


class InsuranceNotSellable(ApplicationError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class OfferClosed(ApplicationError):
    def __init__(self, outcome_label: str) -> None:
        super().__init__(
            _("This offer is no longer open (%(outcome)s).") % {"outcome": outcome_label}, {"outcome": outcome_label}
        )


class OfferExpired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This offer has expired; the job has gone to the next technician."))


class TechnicianAtCapacity(ApplicationError):
    def __init__(self, name: str, capacity: int) -> None:
        super().__init__(
            _("%(name)s already has %(capacity)s jobs in hand; finish one first.")
            % {"name": name, "capacity": capacity},
            {"capacity": capacity},
        )


class TechnicianUnavailable(ApplicationError):
    def __init__(self, name: str) -> None:
        super().__init__(_("%(name)s no longer works for us.") % {"name": name})


class NoCandidate(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            _("Nobody can take this job now (off duty, elsewhere, without the skill or full). Offer it by hand.")
        )


class NotYourJob(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This job is not assigned to you."))


class LocationConsentRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Agree to share your position while on duty first."))


class InvalidPosition(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The position is not valid."))


# ---- Photos and repair recordings -----------------------------------------------------------------------------------


class MediaTooLarge(ApplicationError):
    def __init__(self, limit_bytes: int) -> None:
        megabytes = max(1, limit_bytes // (1024 * 1024))
        super().__init__(
            _("The file is too large (at most %(megabytes)s MB).") % {"megabytes": megabytes}, {"limit": limit_bytes}
        )


class MediaTypeNotAllowed(ApplicationError):
    def __init__(self, kind: str) -> None:
        if kind == "recording":
            message = _("This is not an audio recording we can keep (WebM, Ogg or M4A).")
        elif kind in ("photo_before", "photo_after"):
            message = _("This is not a photo we can keep (JPEG, PNG, HEIC or WebP).")
        else:
            message = _("This kind of file cannot be uploaded here.")
        super().__init__(message, {"kind": kind})


class MediaEmpty(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The file is empty. Take the photo or recording again."))


class MediaChecksumMismatch(ApplicationError):
    def __init__(self, declared: str, actual: str) -> None:
        super().__init__(
            _("The file was damaged on the way (its checksum does not match). Send it again."),
            {"declared": declared, "actual": actual},
        )


class MediaClientIdTaken(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This upload belongs to another job."))


class MediaUploadClosed(ApplicationError):
    def __init__(self, status_label: str) -> None:
        super().__init__(
            _("Photos and recordings can be added only while the job is in hand (this job is %(status)s).")
            % {"status": status_label},
            {"status": status_label},
        )


class MediaNotAllowed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("You are not allowed to see this photo or recording."))


class MediaLinkInvalid(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This link is not valid. Open the ticket again to get a new one."))


class MediaLinkExpired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This link has expired. Open the ticket again to get a new one."))
