from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from fleet.ingest.keys import hash_key
from fleet.models import IngestSource


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: ApiKey <key>`` → the IngestSource that owns the key."""

    keyword = "ApiKey"

    def authenticate(self, request: Request) -> tuple[IngestSource, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword:
            return None
        source = IngestSource.objects.filter(key_hash=hash_key(key.strip()), active=True).first()
        if source is None:
            raise exceptions.AuthenticationFailed("unknown or disabled API key")
        return source, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
