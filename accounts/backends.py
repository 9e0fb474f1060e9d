from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q

from accounts.roles import Role, user_roles_remember


class RoleModelBackend(ModelBackend):
    """Django's ModelBackend, except that the user of a signed-in request comes with their role names from the same
    query: every page checks the role (accounts.views.role_required, the session limits), so reading the groups
    separately cost each request, the board's polls included, a second round trip to the database."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.annotate(
            role_list=ArrayAgg("groups__name", filter=Q(groups__name__in=Role.ALL), default=[])
        )
        user = users.filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user_roles_remember(user, user.role_list)
        return user
