"""My account → edit cards, through the HTTP API."""

from __future__ import annotations

import pytest

from .conftest import card_body


class TestBindingACard:
    def test_a_valid_card_is_bound_and_shown_by_brand_and_last_four_only(self, client, holder):
        response = client.post("/v1/me/cards", json=card_body(), headers=holder.headers)
        assert response.status_code == 201, response.text
        card = response.json()
        assert card["id"].startswith("card_")
        assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == ("visa", "4242", 12, 2031)
        assert "number" not in card and "cvc" not in card
        assert "4242424242424242" not in response.text

    @pytest.mark.parametrize("number, brand", [
        ("5555555555554444", "mastercard"), ("2200000000000004", "mir"), ("6200000000000005", "unionpay"),
    ])
    def test_mastercard_mir_and_unionpay_are_accepted(self, client, make_holder, number, brand):
        response = client.post("/v1/me/cards", json=card_body(number), headers=make_holder().headers)
        assert response.status_code == 201, response.text
        assert response.json()["brand"] == brand

    @pytest.mark.parametrize("changes, param, code", [
        ({"number": "4242424242424241"}, "number", "invalid_card"),
        ({"number": "4242 42"}, "number", "invalid_card"),
        ({"number": "4242-abcd-4242-4242"}, "number", "invalid_card"),
        ({"number": "378282246310005"}, "number", "unsupported_brand"),
        ({"exp_month": 13}, "exp_month", "invalid_card"),
        ({"exp_year": 2020}, "exp_year", "expired_card"),
        ({"exp_year": 2099}, "exp_year", "invalid_card"),
        ({"cvc": "12"}, "cvc", "invalid_card"),
        ({"cvc": "12a"}, "cvc", "invalid_card"),
        ({"holder_name": "  "}, "holder_name", "invalid_card"),
    ])
    def test_a_bad_field_is_a_400_naming_the_field(self, client, holder, changes, param, code):
        response = client.post("/v1/me/cards", json=card_body(**changes), headers=holder.headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("invalid_request", code, param)
        assert "4242424242424241" not in response.text

    def test_a_wrongly_typed_field_is_a_400_not_a_500(self, client, holder):
        response = client.post("/v1/me/cards", json=card_body(exp_month="twelve"), headers=holder.headers)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "exp_month"

    @pytest.mark.parametrize("number, code", [("4000000000000127", "incorrect_cvc"), ("4000000000000069", "expired_card")])
    def test_the_bank_refusing_the_card_at_binding_is_a_402(self, client, holder, number, code):
        response = client.post("/v1/me/cards", json=card_body(number), headers=holder.headers)
        assert response.status_code == 402
        assert response.json()["error"] == {**response.json()["error"], "type": "payment_declined", "code": code}

    def test_the_same_card_twice_is_a_409(self, client, holder):
        assert client.post("/v1/me/cards", json=card_body(), headers=holder.headers).status_code == 201
        again = client.post("/v1/me/cards", json=card_body("4242-4242-4242-4242"), headers=holder.headers)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "card_already_bound"

    def test_two_users_may_bind_the_same_card(self, client, make_holder):
        for person in (make_holder(), make_holder()):
            assert client.post("/v1/me/cards", json=card_body(), headers=person.headers).status_code == 201

    def test_binding_needs_a_logged_in_user(self, client):
        assert client.post("/v1/me/cards", json=card_body()).status_code == 401


class TestListingAndUnbinding:
    def test_the_list_shows_my_cards_newest_first(self, client, holder):
        first = client.post("/v1/me/cards", json=card_body(), headers=holder.headers).json()
        second = client.post("/v1/me/cards", json=card_body("5555555555554444"), headers=holder.headers).json()
        listed = client.get("/v1/me/cards", headers=holder.headers).json()
        assert [card["id"] for card in listed["data"]] == [second["id"], first["id"]]
        assert listed["has_more"] is False

    def test_a_deleted_card_is_gone_and_can_be_bound_again(self, client, holder):
        card = client.post("/v1/me/cards", json=card_body(), headers=holder.headers).json()
        deleted = client.delete(f"/v1/me/cards/{card['id']}", headers=holder.headers)
        assert deleted.status_code == 200 and deleted.json() == {"id": card["id"], "deleted": True}
        assert client.get("/v1/me/cards", headers=holder.headers).json()["data"] == []
        assert client.get(f"/v1/me/cards/{card['id']}", headers=holder.headers).status_code == 404
        assert client.delete(f"/v1/me/cards/{card['id']}", headers=holder.headers).status_code == 404
        assert client.post("/v1/me/cards", json=card_body(), headers=holder.headers).status_code == 201

    def test_another_users_card_cannot_be_seen_or_deleted(self, client, make_holder):
        owner, stranger = make_holder(), make_holder()
        card = client.post("/v1/me/cards", json=card_body(), headers=owner.headers).json()
        assert client.get(f"/v1/me/cards/{card['id']}", headers=stranger.headers).status_code == 404
        assert client.delete(f"/v1/me/cards/{card['id']}", headers=stranger.headers).status_code == 404
        assert client.get("/v1/me/cards", headers=stranger.headers).json()["data"] == []
        assert len(client.get("/v1/me/cards", headers=owner.headers).json()["data"]) == 1
