"""Logging in and posting forms through Flask's test client, as the site's own pages do."""

from __future__ import annotations

import re

PASSWORD = "password-123"


def token(client, url: str = "/login") -> str:
    """The CSRF token of a page (every page carries it in ``<meta name="csrf-token">``)."""
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(app, username: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    """A test client logged in as ``username`` (from ``address``)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(client, url: str, data: dict | None = None, **kwargs):
    """A POST with the session's CSRF token, as the site's own forms send it."""
    return client.post(url, data={**(data or {}), "csrf_token": token(client, "/pearls")}, **kwargs)
