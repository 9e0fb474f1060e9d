from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class TransitionNotAllowed(ApplicationError):
    def __init__(self, current: str, to: str) -> None:
        super().__init__(
            _("This complaint cannot go from “%(current)s” to “%(to)s”.") % {"current": current, "to": to},
            {"from": current, "to": to},
        )


class ComplaintChanged(ApplicationError):
    def __init__(self, number: str) -> None:
        super().__init__(
            _("Complaint %(number)s was changed by someone else. Reload it and try again.") % {"number": number}
        )


class ComplaintAlreadyOpen(ApplicationError):
    def __init__(self, ticket_number: str) -> None:
        super().__init__(
            _("A complaint about ticket %(number)s is already being handled.") % {"number": ticket_number},
            {"ticket": ticket_number},
        )


class TicketNotFound(ApplicationError):
    def __init__(self) -> None:
        # One answer for a wrong number and a wrong phone: nobody learns which tickets exist.
        super().__init__(_("No ticket matches this number and phone number."))


class AmountRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Enter the amount for a refund or compensation."))


class InvalidAmount(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The amount must be zero or more."))


class ReasonRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Give a reason."))


class StatementWindowOpen(ApplicationError):
    def __init__(self, due_at) -> None:
        super().__init__(
            _(
                "The technician can still answer until %(due)s. Wait for the statement, or record why the decision "
                "cannot wait."
            )
            % {"due": due_at},
            {"due_at": due_at},
        )


class NotADecider(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Only a complaint reviewer or a manager can decide a complaint."))


class NotAManager(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Only a manager can give the second approval."))


class SelfApproval(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The second approval must come from another person."))


class NotYourComplaint(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This complaint is not about one of your jobs."))


class StatementAlreadyGiven(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The statement has already been given."))


class StatementTextRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Say what happened in your own words to dispute the complaint."))


class AppealNotAllowed(ApplicationError):
    def __init__(self, status_label: str) -> None:
        super().__init__(
            _("An appeal is possible only once, after the decision (this complaint is %(status)s).")
            % {"status": status_label},
            {"status": status_label},
        )


class AppealAlreadyFiled(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This complaint has already been appealed once."))


class AppealEvidenceRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Add at least one new photo or video to appeal."))


class EvidenceRequestOpen(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This side already has an open evidence request."))


class InvalidDueTime(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The deadline must be in the future."))


class ComplaintClosed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This complaint is no longer open."))


class NoTechnicianOnJob(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Nobody worked this job, so there is no technician to hear."))


class SameTechnician(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("The re-inspection must be done by another technician."))


class EvidenceNotAllowed(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("You are not allowed to see this file."))


class RemedyRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Choose the remedy for an upheld complaint."))


class SignalNotInComplaint(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("A decision can only cite signals of this complaint's own evidence."))
