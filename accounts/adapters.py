from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Agency users are created by an administrator; nobody signs up on their own."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
