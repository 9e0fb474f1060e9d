"""The roles of the dispatch center, as Django groups, and the permissions each one holds."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _


class Role:
    OPERATOR = "operator"
    TECHNICIAN = "technician"
    MANAGER = "manager"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    LABELS = {
        OPERATOR: _("Operator"),
        TECHNICIAN: _("Technician"),
        MANAGER: _("Manager"),
        REVIEWER: _("Complaint reviewer"),
        ADMIN: _("Administrator"),
    }
    ALL = tuple(LABELS)


# "app_label.codename" per role. Permissions of models a later issue adds are listed here when that model lands;
# role_sync() grants exactly what exists, so a missing model is skipped rather than failing the sync.
PERMISSIONS = {
    Role.OPERATOR: ["regions.view_division", "regions.view_servicearea"],
    Role.TECHNICIAN: [],
    Role.MANAGER: [
        "regions.view_division",
        "regions.view_servicearea",
        "regions.view_divisionalias",
        "sla.view_policy",
        "sla.view_policytarget",
        "sla.view_deadline",
    ],
    Role.REVIEWER: ["regions.view_division"],
    Role.ADMIN: [
        "regions.view_division",
        "regions.change_division",
        "regions.view_divisionalias",
        "regions.add_divisionalias",
        "regions.change_divisionalias",
        "regions.delete_divisionalias",
        "regions.view_servicearea",
        "regions.add_servicearea",
        "regions.change_servicearea",
        "regions.delete_servicearea",
        "dispatch.view_insuranceplan",
        "dispatch.add_insuranceplan",
        "dispatch.change_insuranceplan",
        "dispatch.view_insurancepolicy",
        "dispatch.view_technician",
        "dispatch.add_technician",
        "dispatch.change_technician",
        "dispatch.view_skill",
        "dispatch.add_skill",
        "dispatch.change_skill",
        "dispatch.view_dispatchrule",
        "dispatch.add_dispatchrule",
        "dispatch.change_dispatchrule",
        "dispatch.delete_dispatchrule",
        "dispatch.view_offer",
        "dispatch.view_dutyperiod",
        "complaints.view_complaint",
        "complaints.view_evidencecheck",
        "dashboard.view_managerregion",
        "dashboard.add_managerregion",
        "dashboard.change_managerregion",
        "dashboard.delete_managerregion",
        "sla.view_policy",
        "sla.add_policy",
        "sla.change_policy",
        "sla.view_policytarget",
        "sla.add_policytarget",
        "sla.change_policytarget",
        "sla.delete_policytarget",
        "sla.view_deadline",
        "sla.view_outbox",
        "api.view_integrationkey",
        "api.add_integrationkey",
        "api.change_integrationkey",
        "webhooks.view_subscriber",
        "webhooks.add_subscriber",
        "webhooks.change_subscriber",
        "webhooks.view_delivery",
        "webhooks.change_delivery",
        "privacy.view_numberbinding",
        "telephony.view_call",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
        "audit.view_accesslog",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
}


def user_roles(user: AbstractBaseUser) -> frozenset[str]:
    """Return the role names of a signed-in user (superusers hold the admin role); read once per user object (the
    request's user comes with them: accounts.backends.RoleModelBackend)."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = user_roles_remember(user, user.groups.filter(name__in=Role.ALL).values_list("name", flat=True))
    return cached


def user_roles_remember(user: AbstractBaseUser, group_names) -> frozenset[str]:
    """Keep the roles read with the user (group names among Role.ALL) on the user object for user_roles()."""
    roles = frozenset(group_names) | ({Role.ADMIN} if user.is_superuser else frozenset())
    user._role_names = roles
    return roles


# Each role's own screen.
ROLE_SCREENS = {
    Role.OPERATOR: "dispatch:console",
    Role.TECHNICIAN: "technician:home",
    Role.MANAGER: "dashboard:home",
    Role.REVIEWER: "complaints:queue",
    Role.ADMIN: "admin:index",
}
