"""The Mastodon stand-in's engagement routes, as Mastodon answers them (app/controllers/api/v1/
statuses/{favourites,reblogs}_controller.rb):

- ``POST /api/v1/statuses/:id/favourite`` / ``unfavourite``: the status, with
  ``favourited`` and ``favourites_count`` as they now are;
- ``POST /api/v1/statuses/:id/reblog`` / ``unreblog``: a reblog is a status of the reblogging
  account wrapping the original (``reblog``); unreblog answers the original.

Doing either twice changes nothing. The stand-in keeps who favourited and reblogged on the
status itself (``favourited_by``, ``reblogged_by``), so reblogs are not listed among the
account's statuses (real Mastodon lists them; nothing in uprbuzz reads them there).
``status_view`` reports ``favourites_count``, ``reblogs_count`` and ``replies_count`` from it.
"""

from __future__ import annotations

from typing import Any

from uprbuzz.sandbox.mastodon_api import NOT_FOUND, Answer, error, status_view
from uprbuzz.sandbox.mastodon_store import MastodonAccount, MastodonStore, iso

ACTIONS = ("favourite", "unfavourite", "reblog", "unreblog")


def act(store: MastodonStore, who: MastodonAccount, status_id: str, action: str,
        base_url: str) -> Answer:
    field = "favourited_by" if action.endswith("favourite") else "reblogged_by"
    with store.lock:
        s = store.find(status_id)
        if s is None or (action == "reblog" and s["visibility"] in ("private", "direct")):
            return error(404, NOT_FOUND)
        did: list[str] = s.setdefault(field, [])
        if action.startswith("un"):
            if who.id in did:
                did.remove(who.id)
        elif who.id not in did:
            did.append(who.id)
        store.save()
        view = status_view(store, s, base_url, viewer=who.id)
        if action != "reblog":
            return 200, view, {}
        return 200, _reblog_wrapper(store, who, view, base_url), {}


def _reblog_wrapper(store: MastodonStore, who: MastodonAccount, original: dict[str, Any],
                    base_url: str) -> dict[str, Any]:
    domain = store.instance.domain
    rid = store.new_id()
    return {**{k: original[k] for k in ("sensitive", "spoiler_text", "visibility", "language")},
            "id": rid, "created_at": iso(store.now()), "in_reply_to_id": None,
            "in_reply_to_account_id": None, "content": "", "reblog": original,
            "uri": f"https://{domain}/users/{who.username}/statuses/{rid}/activity",
            "url": None, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
            "favourited": False, "reblogged": True, "account": who.public(domain),
            "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": None,
            "poll": None}
