"""Annotator accounts on a Label Studio server, made as a person would: through the
organization's invite link and the sign-up form. Used by the simulated annotators of
``curate demo`` and by tests; a real team invites its annotators from the web interface.
"""

from __future__ import annotations

import re

import requests

from schemas.errors import AnnotationError

from .connection import Connection


def signup(conn: Connection, email: str, password: str) -> Connection:
    """Sign ``email`` up through the invite link of ``conn``'s organization (or log in when
    the account exists) and return the user's own connection (URL and API token)."""
    url = conn.url
    try:
        invite = requests.get(f"{url}/api/invite", timeout=60,
                              headers={"Authorization": f"Token {conn.api_key}"})
        invite.raise_for_status()
        token = invite.json()["token"]
        web = requests.Session()
        web.get(f"{url}/user/signup/?token={token}", timeout=60).raise_for_status()
        form = {"email": email, "password": password,
                "csrfmiddlewaretoken": web.cookies.get("csrftoken", "")}
        done = web.post(f"{url}/user/signup/?token={token}", data=form, allow_redirects=False,
                        headers={"Referer": f"{url}/user/signup/"}, timeout=60)
        if done.status_code != 302:  # the account may exist already: log in instead
            web.get(f"{url}/user/login/", timeout=60)
            form["csrfmiddlewaretoken"] = web.cookies.get("csrftoken", "")
            done = web.post(f"{url}/user/login/", data=form, allow_redirects=False,
                            headers={"Referer": f"{url}/user/login/"}, timeout=60)
        if done.status_code != 302:
            errors = re.findall(r'class="error"[^>]*>([^<]+)', done.text)
            raise AnnotationError(f"could not sign up or log in {email} at {url} "
                                  f"(HTTP {done.status_code} {errors[:2]})")
        got = web.get(f"{url}/api/current-user/token", timeout=60)
        got.raise_for_status()
        return Connection(url, got.json()["token"])
    except (requests.RequestException, KeyError, ValueError) as exc:
        raise AnnotationError(f"could not make the account {email} at {url} "
                              f"({type(exc).__name__})") from None
