"""Request handling shared by every app."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ItalianByDefaultMiddleware:
    """The interface is Italian unless the user picks another language in the menu.

    Django would otherwise follow the browser's Accept-Language header, and an agency's
    machines are often set up in English. Runs before LocaleMiddleware, which then only sees
    the language cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
