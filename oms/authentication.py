"""Token authentication that loads the partner (and its channel) with the user: every partner
request asks who the partner is, and this answers it in the token's own query."""

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``TokenAuthentication`` (``Authorization: Token <key>``), one query per request."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user__partner__channel").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
