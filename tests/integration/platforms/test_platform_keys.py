"""Issue 27: a leaked platform key can be rotated and revoked, and a platform disabled, by an
operator (admin API here; CLI and back office elsewhere). Every use of a revoked or expired key,
or of a disabled platform's key, is the same 401 as an unknown key; every action is audited."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators.models import operator_audit_log
from amanah.platforms import service as platforms
from tests.integration.trades.conftest import Market, make_market

import pytest


@pytest.fixture
def market(client, engine) -> Market:
    return make_market(client, engine, name=f"Keys {secrets.token_hex(3)}")


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def use(market: Market, key: str):
    """Something a platform does with its key: list its trades."""
    return market.client.get("/v1/trades", headers=bearer(key))


def rotate(market: Market, platform_id: str | None = None, **body):
    return market.client.post(f"/v1/admin/platforms/{platform_id or market.platform_id}/keys", json=body,
                              headers=market.as_operator)


def keys_of(market: Market, platform_id: str | None = None) -> list[dict]:
    response = market.client.get(f"/v1/admin/platforms/{platform_id or market.platform_id}/keys",
                                 headers=market.as_operator)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def unknown_key_error(market: Market) -> dict:
    response = use(market, f"sk_{secrets.token_hex(32)}")
    assert response.status_code == 401
    return response.json()["error"]


def audit(market: Market, action: str) -> list:
    with market.engine.connect() as connection:
        return connection.execute(sa.select(operator_audit_log).where(
            operator_audit_log.c.action == action, operator_audit_log.c.target_id == market.platform_id)
            .order_by(operator_audit_log.c.seq)).all()


class TestRotatingTheKey:
    def test_the_new_key_is_shown_once_and_the_old_one_works_for_a_day(self, market):
        response = rotate(market)
        assert response.status_code == 201, response.text
        made = response.json()
        assert made["secret"].startswith("sk_") and made["id"].startswith("pk_")
        assert use(market, made["secret"]).status_code == 200
        assert use(market, market.platform_key).status_code == 200
        listed = keys_of(market)
        assert len(listed) == 2 and all("secret" not in key and "key_hash" not in key for key in listed)
        assert made["secret"] not in str(listed)
        old = next(key for key in listed if key["id"] != made["id"])
        assert old["status"] == "expiring" and old["expires_at"] is not None
        market.advance(86_400 + 1)
        refused = use(market, market.platform_key)
        assert refused.status_code == 401
        assert refused.json()["error"] == unknown_key_error(market)
        assert use(market, made["secret"]).status_code == 200
        assert {key["id"]: key["status"] for key in keys_of(market)} == {made["id"]: "active", old["id"]: "expired"}

    def test_with_no_grace_the_old_key_stops_at_once(self, market):
        made = rotate(market, grace_s=0).json()
        assert use(market, market.platform_key).status_code == 401
        assert use(market, made["secret"]).status_code == 200

    def test_a_later_rotation_never_lengthens_an_old_keys_grace(self, market):
        first = rotate(market, grace_s=60).json()
        rotate(market, grace_s=86_400)
        market.advance(61)
        assert use(market, market.platform_key).status_code == 401
        assert use(market, first["secret"]).status_code == 200

    @pytest.mark.parametrize("grace_s", [-1, 10**12, "soon", 1.5, True])
    def test_a_bad_grace_period_is_a_400_and_nothing_changes(self, market, grace_s):
        response = rotate(market, grace_s=grace_s)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "grace_s"
        assert len(keys_of(market)) == 1

    def test_an_unknown_platform_is_a_404(self, market):
        assert rotate(market, "plt_" + "0" * 26).status_code == 404

    def test_the_rotation_is_audited_without_the_secret(self, market):
        made = rotate(market, grace_s=0).json()
        rows = audit(market, "platform.key.create")
        assert len(rows) == 1 and rows[0].actor_type == "api_key"
        assert made["secret"] not in str(rows[0].after) and made["id"] in str(rows[0].after)


class TestRevokingAKey:
    def test_a_revoked_key_is_refused_at_once_like_an_unknown_one(self, market):
        key_id = keys_of(market)[0]["id"]
        response = market.client.delete(f"/v1/admin/platforms/{market.platform_id}/keys/{key_id}",
                                        headers=market.as_operator)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "revoked" and response.json()["revoked_at"]
        refused = use(market, market.platform_key)
        assert refused.status_code == 401 and refused.json()["error"] == unknown_key_error(market)
        again = market.client.delete(f"/v1/admin/platforms/{market.platform_id}/keys/{key_id}",
                                     headers=market.as_operator)
        assert again.status_code == 200 and again.json()["revoked_at"] == response.json()["revoked_at"]
        assert len(audit(market, "platform.key.revoke")) == 1  # nothing happened the second time

    def test_a_key_in_its_grace_period_can_be_revoked_early(self, market):
        old_id = keys_of(market)[0]["id"]
        new = rotate(market).json()
        market.client.delete(f"/v1/admin/platforms/{market.platform_id}/keys/{old_id}", headers=market.as_operator)
        assert use(market, market.platform_key).status_code == 401
        assert use(market, new["secret"]).status_code == 200

    def test_another_platforms_key_is_not_found_and_keeps_working(self, market, client, engine):
        other = make_market(client, engine, name=f"Other {secrets.token_hex(3)}")
        other_key_id = keys_of(other)[0]["id"]
        response = market.client.delete(f"/v1/admin/platforms/{market.platform_id}/keys/{other_key_id}",
                                        headers=market.as_operator)
        assert response.status_code == 404
        assert use(other, other.platform_key).status_code == 200

    def test_a_platform_cannot_rotate_or_revoke_keys_itself(self, market):
        key_id = keys_of(market)[0]["id"]
        assert market.client.post(f"/v1/admin/platforms/{market.platform_id}/keys", json={},
                                  headers=market.as_platform).status_code == 401
        assert market.client.delete(f"/v1/admin/platforms/{market.platform_id}/keys/{key_id}",
                                    headers=market.as_platform).status_code == 401
        assert market.client.post(f"/v1/admin/platforms/{market.platform_id}/enable",
                                  headers=market.as_platform).status_code == 401
        assert len(keys_of(market)) == 1 and use(market, market.platform_key).status_code == 200


class TestDisablingThePlatform:
    def test_every_key_of_a_disabled_platform_is_refused_until_it_is_enabled(self, market):
        second = rotate(market).json()
        response = market.client.post(f"/v1/admin/platforms/{market.platform_id}/disable",
                                      headers=market.as_operator)
        assert response.status_code == 200, response.text
        assert response.json()["disabled_at"] is not None
        for key in (market.platform_key, second["secret"]):
            refused = use(market, key)
            assert refused.status_code == 401 and refused.json()["error"] == unknown_key_error(market)
        assert market.client.post("/v1/sellers", headers=market.as_platform, json={
            "platform_seller_id": "s-x", "email": "x@example.com", "name": "X"}).status_code == 401
        enabled = market.client.post(f"/v1/admin/platforms/{market.platform_id}/enable", headers=market.as_operator)
        assert enabled.status_code == 200 and enabled.json()["disabled_at"] is None
        assert use(market, market.platform_key).status_code == 200
        assert [row.action for row in audit(market, "platform.disable")] == ["platform.disable"]
        assert len(audit(market, "platform.enable")) == 1

    def test_disabling_twice_keeps_the_first_moment_and_logs_once(self, market):
        first = market.client.post(f"/v1/admin/platforms/{market.platform_id}/disable", headers=market.as_operator)
        again = market.client.post(f"/v1/admin/platforms/{market.platform_id}/disable", headers=market.as_operator)
        assert again.status_code == 200 and again.json()["disabled_at"] == first.json()["disabled_at"]
        assert len(audit(market, "platform.disable")) == 1

    def test_a_new_key_of_a_disabled_platform_does_not_open_it(self, market):
        market.client.post(f"/v1/admin/platforms/{market.platform_id}/disable", headers=market.as_operator)
        made = rotate(market).json()
        assert use(market, made["secret"]).status_code == 401


class TestTheKeyCheck:
    def test_a_platform_created_before_the_keys_table_keeps_its_key(self, market):
        # create_platform writes its first key into platform_keys, as the migration moved old ones.
        listed = keys_of(market)
        assert len(listed) == 1 and listed[0]["status"] == "active" and listed[0]["expires_at"] is None

    def test_a_revocation_in_another_connection_applies_to_the_next_request(self, market, engine):
        assert use(market, market.platform_key).status_code == 200
        key_id = keys_of(market)[0]["id"]
        run_in_transaction(engine, lambda c: platforms.revoke_key(c, market.platform_id, key_id, now=clock.now()))
        assert use(market, market.platform_key).status_code == 401
