"""Create (or bring up to date) the default staff groups and their permissions.

The groups implement the role table of ``docs/roles.md`` (``accounts.roles.ROLES``: every
permission is named there, per group and app). Idempotent: each run sets every group's
permissions to exactly those lists, so running it twice gives the same result, and a permission
added by hand in the admin is taken away again.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.roles import ROLES, role_permissions


def group_permissions(name: str) -> set[Permission]:
    wanted: set[Permission] = set()
    missing = []
    for app_label, codenames in role_permissions(name).items():
        found = {
            p.codename: p
            for p in Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        }
        missing += [f"{app_label}.{c}" for c in codenames if c not in found]
        wanted.update(found.values())
    if missing:
        raise CommandError(
            f"Group '{name}' needs permissions that do not exist: {', '.join(missing)}. "
            "Run `python manage.py migrate` first."
        )
    return wanted


class Command(BaseCommand):
    help = (
        "Create or update the default staff groups (purchasing, warehouse, managers) with "
        "exactly the permissions of docs/roles.md."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Permissions are created after migrate; make sure custom ones of every model exist.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        with transaction.atomic():
            for name in ROLES:
                permissions = group_permissions(name)
                group, created = Group.objects.get_or_create(name=name)
                before = set(group.permissions.values_list("pk", flat=True))
                group.permissions.set(permissions)
                after = {p.pk for p in permissions}
                if created:
                    state = "created"
                elif before != after:
                    state = "updated"
                else:
                    state = "unchanged"
                self.stdout.write(f"{name}: {len(after)} permissions ({state}).")
