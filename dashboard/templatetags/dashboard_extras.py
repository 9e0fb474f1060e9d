from django import template

register = template.Library()


@register.filter
def minutes(seconds) -> str:
    """Seconds as minutes with one decimal, or an em dash when there is no value."""
    if seconds is None or seconds == "":
        return "—"
    return f"{float(seconds) / 60:.1f}"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


@register.filter
def dash(value) -> str:
    return "—" if value is None else value
