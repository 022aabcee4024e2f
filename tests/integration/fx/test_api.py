"""The HTTP API for currencies and exchange, through the whole app."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amanah.api.deps import get_now


@pytest.fixture
def api(client, fx):
    """The app's client, with its clock on this test's own day."""
    client.app.dependency_overrides[get_now] = lambda: fx.now
    return client


def assert_error(response, status: int, type_: str, code: str | None = None, param: str | None = None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"} and error["message"]
    assert error["type"] == type_
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


class TestListingCurrencies:
    def test_all_fourteen_with_exponents_numeric_codes_and_symbols(self, api):
        body = api.get("/v1/currencies").json()
        assert body["locale"] == "en" and len(body["data"]) == 14
        by_code = {c["code"]: c for c in body["data"]}
        assert by_code["USD"] == {"code": "USD", "numeric_code": "840", "exponent": 2, "name": "US Dollar", "symbol": "$"}
        assert (by_code["JPY"]["exponent"], by_code["KRW"]["exponent"]) == (0, 0)

    def test_names_follow_accept_language(self, api):
        body = api.get("/v1/currencies", headers={"Accept-Language": "xx;q=1, ru-RU;q=0.9, en;q=0.8"}).json()
        rub = next(c for c in body["data"] if c["code"] == "RUB")
        assert body["locale"] == "ru-RU" and rub["name"] == "российский рубль" and rub["symbol"] == "₽"

    def test_the_locale_parameter_wins_over_the_header(self, api):
        body = api.get("/v1/currencies?locale=de", headers={"Accept-Language": "ru"}).json()
        assert body["locale"] == "de" and body["data"][0]["name"] == "US-Dollar"

    def test_a_junk_header_falls_back_to_english(self, api):
        assert api.get("/v1/currencies", headers={"Accept-Language": "%%%, ;q=x," * 100}).json()["locale"] == "en"

    @pytest.mark.parametrize("locale", ["klingon", "../../etc", "x" * 40])
    def test_an_unknown_locale_parameter_is_a_400(self, api, locale):
        assert_error(api.get("/v1/currencies", params={"locale": locale}), 400, "invalid_request", param="locale")


class TestTodaysRatesOverHttp:
    def test_rates_are_decimal_strings_with_the_day_they_are_from(self, api, fx):
        fx.store(("EUR", "USD", "1.25"), ("EUR", "RUB", "100"), source="ecb")
        fx.store(("USD", "KZT", "470.5"), days_ago=2, source="manual")
        body = api.get("/v1/fx/rates?base=USD").json()
        assert body["base"] == "USD"
        assert (body["rates"]["EUR"], body["rates"]["RUB"], body["rates"]["KZT"]) == ("0.8", "80", "470.5")
        assert body["rates_as_of"]["RUB"] == fx.day.isoformat()
        assert body["as_of"] <= (fx.day - timedelta(days=2)).isoformat()
        assert {"ecb", "manual"} <= set(body["sources"])

    def test_the_base_defaults_to_dollars_and_takes_lower_case(self, api, fx):
        fx.store(("EUR", "USD", "1.25"))
        assert api.get("/v1/fx/rates").json()["base"] == "USD"
        assert api.get("/v1/fx/rates?base=eur").json()["rates"]["USD"] == "1.25"

    def test_a_past_day_can_be_asked_for(self, api, fx):
        fx.store(("EUR", "USD", "1.2"), days_ago=1)
        fx.store(("EUR", "USD", "1.3"))
        yesterday = (fx.day - timedelta(days=1)).isoformat()
        assert api.get(f"/v1/fx/rates?base=EUR&date={yesterday}").json()["rates"]["USD"] == "1.2"

    @pytest.mark.parametrize(("query", "param"), [
        ("base=XYZ", "base"), ("base=" + "U" * 20, "base"), ("date=yesterday", "date"), ("date=2999-13-01", "date"),
    ])
    def test_bad_input_is_a_400(self, api, query, param):
        assert_error(api.get(f"/v1/fx/rates?{query}"), 400, "invalid_request", param=param)

    def test_a_future_day_is_a_400(self, api, fx):
        tomorrow = (fx.day + timedelta(days=1)).isoformat()
        assert_error(api.get(f"/v1/fx/rates?date={tomorrow}"), 400, "invalid_request", param="date")


class TestQuotesOverHttp:
    @pytest.fixture
    def rouble_rate(self, fx):
        fx.store(("USD", "RUB", "92.5"), source="manual")

    def test_a_quote_is_created_and_read_back(self, api, fx, rouble_rate):
        response = api.post("/v1/fx/quotes", json={"sell_currency": "RUB", "buy": {"amount": 2599, "currency": "USD"}})
        assert response.status_code == 201, response.text
        quote = response.json()
        assert quote["id"].startswith("qt_")
        assert quote["rate"] == "93.8875" and quote["mid_rate"] == "92.5" and quote["spread_bps"] == 150
        assert quote["sell"] == {"amount": 244014, "currency": "RUB"}
        assert quote["buy"] == {"amount": 2599, "currency": "USD"}
        assert quote["spread"] == {"amount": 3606, "currency": "RUB"}
        assert quote["status"] == "open" and quote["rates_as_of"] == fx.day.isoformat()
        assert quote["created_at"].startswith(fx.day.isoformat()) and quote["expires_at"].endswith("Z")
        assert api.get(f"/v1/fx/quotes/{quote['id']}").json() == quote

    def test_an_old_quote_reads_as_expired(self, api, fx, rouble_rate):
        quote = api.post("/v1/fx/quotes", json={"sell_currency": "RUB", "buy": {"amount": 100, "currency": "USD"}}).json()
        api.app.dependency_overrides[get_now] = lambda: fx.now + timedelta(seconds=60)
        assert api.get(f"/v1/fx/quotes/{quote['id']}").json()["status"] == "expired"

    def test_an_unknown_quote_is_a_404(self, api):
        assert_error(api.get("/v1/fx/quotes/qt_01JD8Z5M6X0E4H1S8W3Q2C9N7K"), 404, "not_found", "quote_not_found")

    @pytest.mark.parametrize(("body", "param"), [
        ({"sell_currency": "RUB", "buy": {"amount": 19.99, "currency": "USD"}}, "buy.amount"),
        ({"sell_currency": "RUB", "buy": {"amount": "1999", "currency": "USD"}}, "buy.amount"),
        ({"sell_currency": "RUB", "buy": {"amount": 0, "currency": "USD"}}, "buy.amount"),
        ({"sell_currency": "RUB", "buy": {"amount": -5, "currency": "USD"}}, "buy.amount"),
        ({"sell_currency": "RUB", "buy": {"amount": 10**16, "currency": "USD"}}, "buy.amount"),
        ({"sell_currency": "RUB", "buy": {"amount": 100, "currency": "XYZ"}}, "buy.currency"),
        ({"sell_currency": "RUB", "buy": {"amount": 100}}, "buy.currency"),
        ({"sell_currency": "BTC", "buy": {"amount": 100, "currency": "USD"}}, "sell_currency"),
        ({"sell_currency": "USD", "buy": {"amount": 100, "currency": "USD"}}, "sell_currency"),
        ({"buy": {"amount": 100, "currency": "USD"}}, "sell_currency"),
        ({"sell_currency": "RUB", "buy": {"amount": 100, "currency": "USD"}, "sell": {}}, "sell"),
        ({"sell_currency": 7, "buy": {"amount": 100, "currency": "USD"}}, "sell_currency"),
    ])
    def test_bad_input_is_a_400_naming_the_field(self, api, rouble_rate, body, param):
        assert_error(api.post("/v1/fx/quotes", json=body), 400, "invalid_request", param=param)

    def test_a_body_that_is_not_json_is_a_400(self, api):
        response = api.post("/v1/fx/quotes", content=b"{nope", headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalid_request")

    def test_a_stale_rate_is_refused_clearly(self, api, fx):
        fx.store(("USD", "UAH", "41"), days_ago=9)
        response = api.post("/v1/fx/quotes", json={"sell_currency": "UAH", "buy": {"amount": 100, "currency": "USD"}})
        error = assert_error(response, 409, "conflict", "fx_rate_stale")
        assert "older than the 4 days" in error["message"]

    def test_no_rate_at_all_is_a_409_conflict_not_a_server_error(self, settings, fresh_database_url):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app
        from amanah.core.db import create_engine
        from tests.conftest import user_with_token

        engine = create_engine(fresh_database_url)
        _, token = user_with_token(engine)
        engine.dispose()
        with TestClient(create_app(settings.model_copy(update={"database_url": fresh_database_url}))) as empty:
            response = empty.post("/v1/fx/quotes", headers={"Authorization": f"Bearer {token}"},
                                  json={"sell_currency": "KZT", "buy": {"amount": 100, "currency": "USD"}})
        error = assert_error(response, 409, "conflict", "fx_rate_unavailable")
        assert "KZT" in error["message"]

    def test_every_endpoint_is_in_the_openapi_document(self, api):
        paths = api.get("/openapi.json").json()["paths"]
        assert {"/v1/currencies", "/v1/fx/rates", "/v1/fx/quotes", "/v1/fx/quotes/{quote_id}"} <= set(paths)
