"""Test mode's ``GET /v1/test/outbox/mail``: the e-mails the server has sent."""

from __future__ import annotations

from tests.integration.users.conftest import deliver_mail, register


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


class TestListingSentMailInTestMode:
    def test_an_operator_sees_the_sent_mail_newest_first(self, client, engine, settings, operator_key, email):
        register(client, email)
        deliver_mail(engine, settings)
        response = client.get("/v1/test/outbox/mail?limit=100", headers=auth(operator_key))
        assert response.status_code == 200
        mine = [item for item in response.json()["data"] if item["to"] == email]
        assert mine and set(mine[0]) == {"to", "subject", "text", "html", "sent_at"}
        assert "http://testserver/verify-email?token=uev_" in mine[0]["text"]

    def test_it_needs_an_operator_key(self, client):
        assert client.get("/v1/test/outbox/mail").status_code == 401

    def test_outside_test_mode_it_does_not_exist(self, settings, engine, operator_key):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app

        development = settings.model_copy(update={"env": "development", "captcha": "image",
                                                  "password_hashing": "owasp"})
        with TestClient(create_app(development)) as dev_client:
            assert dev_client.get("/v1/test/outbox/mail", headers=auth(operator_key)).status_code == 404

    def test_a_mail_sent_outside_test_mode_is_listed_without_its_bodies(self, client, engine, settings, operator_key,
                                                                       email):
        """A server outside test mode forgets what it sent (``mail.mark_sent``); the list shows
        such a mail (a database shared with one) with null bodies, where it answered a 500."""
        register(client, email)
        deliver_mail(engine, settings.model_copy(update={"env": "development"}))
        response = client.get("/v1/test/outbox/mail?limit=100", headers=auth(operator_key))
        assert response.status_code == 200, response.text
        mine = [item for item in response.json()["data"] if item["to"] == email]
        assert mine and (mine[0]["text"], mine[0]["html"]) == (None, None)
