from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from accounts.roles import PERMISSIONS, Role

User = get_user_model()


@transaction.atomic
def role_sync() -> dict[str, int]:
    """Create the role groups and set each one's permissions to exactly those listed in accounts.roles."""
    granted = {}
    for role in Role.ALL:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = Q(pk__in=[])
        for permission in PERMISSIONS[role]:
            app_label, codename = permission.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(wanted))
        group.permissions.set(permissions)
        granted[role] = len(permissions)
    return granted


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


@transaction.atomic
def demo_users_ensure() -> list[DemoLogin]:
    """Create (or reset) one demo user per role with a known password; for `make run` on a developer machine only."""
    logins = []
    for role in Role.ALL:
        username, password = f"demo_{role}", f"{role}-demo-2026"
        user, _created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["password", "is_staff", "is_superuser"])
        user.groups.set([Group.objects.get(name=role)])
        logins.append(DemoLogin(role=role, username=username, password=password))
    return logins
