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


class NotYourJob(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This job is not assigned to you."))


class LocationConsentRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Agree to share your position while on duty first."))


class InvalidPosition(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The position is not valid."))
