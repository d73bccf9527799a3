"""What a person keeps for themselves: the order desk's saved filters."""

from django.conf import settings
from django.db import models

SAVED_FILTER_NAME_MAX = 60
SAVED_FILTER_QUERY_MAX = 2000
SAVED_FILTERS_MAX = 50  # per person


class SavedFilter(models.Model):
    """A named set of the order desk's filters (its query string), one person's own."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=SAVED_FILTER_NAME_MAX)
    query = models.CharField(max_length=SAVED_FILTER_QUERY_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
