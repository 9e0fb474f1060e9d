from django.db import models


class ConfigVersion(models.Model):
    """A random token per configuration area, replaced by database triggers whenever one of the area's tables changes
    (migration 0001); configcache.memo keys what each process remembers by it."""

    area = models.CharField(max_length=40, primary_key=True)
    token = models.UUIDField()

    def __str__(self) -> str:
        return f"{self.area}: {self.token}"
