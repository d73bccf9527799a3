"""``manage.py create_partner "<name>"``: a partner with its API user and token.
``manage.py create_partner --rotate "<name>"``: a new token for an existing partner; the old one
stops working at once.

The token is printed alone on the last line, so scripts can take it with ``tail -n 1``.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from orders.authentication import token_rotate
from orders.models import Channel, Partner


class Command(BaseCommand):
    help = "Create a partner with its API user (channel 'partner') and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The partner's name, unique.")
        parser.add_argument(
            "--channel", default=Channel.PARTNER, help="Channel code of its orders (partner)."
        )
        parser.add_argument(
            "--username", default="", help="Username of the API user (default: from the name)."
        )
        parser.add_argument("--email", default="", help="Contact e-mail of the API user.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Give the existing partner of that name a new token; the old one stops working.",
        )

    def handle(self, *args, name, channel, username, email, rotate=False, **options):
        name = name.strip()
        if not name:
            raise CommandError("Give the partner a name.")
        if rotate:
            return self.rotate(name)
        if len(name) > (Partner._meta.get_field("name").max_length or len(name)):
            raise CommandError("The name is too long (at most 120 characters).")
        if Partner.objects.filter(name__iexact=name).exists():
            raise CommandError(f"A partner named '{name}' already exists.")
        channel_obj = Channel.objects.filter(code=channel).first()
        if channel_obj is None:
            raise CommandError(f"Unknown channel '{channel}'.")
        user_model = get_user_model()
        username = username.strip() or f"partner-{slugify(name)[:100] or 'api'}"
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user named '{username}' already exists; pass --username.")
        with transaction.atomic():
            user = user_model(username=username, email=email.strip())
            user.set_unusable_password()
            user.save()
            partner = Partner.objects.create(name=name, user=user, channel=channel_obj)
            token = Token.objects.create(user=user)
        self.stdout.write(
            f"Created partner '{partner.name}' "
            f"(API user '{username}', channel '{channel_obj.code}')."
        )
        self.stdout.write("API token (send it as 'Authorization: Token <token>'):")
        self.stdout.write(token.key)

    def rotate(self, name: str) -> None:
        partners = Partner.objects.select_related("user")
        # The exact name first; a case-insensitive match only when it names one partner, so
        # "acme" never rotates ACME's token while Acme's (perhaps leaked) one keeps working.
        partner = partners.filter(name=name).first()
        if partner is None:
            matches = list(partners.filter(name__iexact=name)[:2])
            if len(matches) > 1:
                raise CommandError(
                    f"'{name}' matches several partners ({', '.join(p.name for p in matches)}); "
                    "give the name exactly as written."
                )
            partner = matches[0] if matches else None
        if partner is None:
            raise CommandError(f"No partner named '{name}'.")
        token = token_rotate(user=partner.user)
        self.stdout.write(
            f"New API token for partner '{partner.name}' (API user '{partner.user.username}'); "
            "the old token no longer works."
        )
        self.stdout.write("API token (send it as 'Authorization: Token <token>'):")
        self.stdout.write(token.key)
