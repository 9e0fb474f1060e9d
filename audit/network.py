from django.conf import settings


def client_ip(request) -> str:
    """Return the address of the browser: REMOTE_ADDR, or, behind DJANGO_PROXY_COUNT trusted reverse proxies, the
    address the outermost of them saw (each proxy appends to X-Forwarded-For; what is further left can be forged)."""
    count = settings.SECURITY_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")
