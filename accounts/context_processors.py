from accounts.roles import user_roles


def roles(request):
    """Expose the signed-in user's roles to templates (for the header and navigation)."""
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None and user.is_authenticated else frozenset()}
