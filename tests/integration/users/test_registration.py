"""Registering on the site, and confirming the e-mail address by link."""

from __future__ import annotations

from tests.integration.users.conftest import GOOD_PASSWORD, bearer, queued_params, register, token_for


class TestRegisteringOnTheSite:
    def test_a_new_user_gets_a_201_with_the_user(self, client, email):
        user = register(client, email, name="Siti Rahma", locale="id")
        assert user["id"].startswith("usr_") and user["object"] == "user"
        assert (user["email"], user["name"], user["locale"]) == (email, "Siti Rahma", "id")
        assert user["email_verified"] is False and user["has_password"] is True
        assert user["two_factor_enabled"] is False and "password" not in str(user).lower().replace("has_password", "")

    def test_the_address_is_stored_lower_cased_and_taken_whatever_its_case(self, client, email):
        register(client, email.upper())
        response = client.post("/v1/users", json={"email": email, "password": GOOD_PASSWORD, "name": "Again"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "email_taken"

    def test_an_invalid_address_is_a_400_naming_the_field(self, client):
        response = client.post("/v1/users", json={"email": "not-an-address", "password": GOOD_PASSWORD, "name": "X"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "email"

    def test_a_common_password_is_refused(self, client, email):
        response = client.post("/v1/users", json={"email": email, "password": "password1", "name": "X"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "weak_password"

    def test_a_missing_field_or_an_unknown_one_is_a_400_in_the_api_error_shape(self, client, email):
        assert client.post("/v1/users", json={"email": email}).json()["error"]["param"] == "password"
        response = client.post("/v1/users", json={"email": email, "password": GOOD_PASSWORD, "admin": True})
        assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request"

    def test_a_body_that_is_not_json_is_a_400(self, client):
        response = client.post("/v1/users", content=b"\xff\xfe", headers={"Content-Type": "application/json"})
        assert response.status_code == 400


class TestConfirmingTheEmailAddress:
    def test_the_link_in_the_welcome_mail_confirms_the_address_once(self, client, engine, email):
        register(client, email)
        [params] = queued_params(engine, email, "verify_email")
        confirmed = client.post("/v1/email-verifications/confirm", json={"token": params["token"]})
        assert confirmed.status_code == 200 and confirmed.json()["email_verified"] is True
        again = client.post("/v1/email-verifications/confirm", json={"token": params["token"]})
        assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_link"

    def test_a_user_can_ask_for_a_new_link(self, client, engine, email):
        register(client, email)
        response = client.post("/v1/me/email-verifications", headers=bearer(token_for(client, email)))
        assert response.status_code == 202
        assert len(queued_params(engine, email, "verify_email")) == 2
