"""The cabinet's static route: any path at all is a file of ours or a 404, never a 500 (issue 28:
``GET /static/<256 characters>`` raised ENAMETOOLONG)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from amanah.web.routes.static import STATIC_DIR


class TestOddStaticPaths:
    @pytest.mark.parametrize("name", [
        "a" * 256, "a" * 5000, "/".join(["b" * 255] * 20) + ".css", "x" * 300 + ".js",
        "..%2f..%2fetc%2fpasswd", "../../../etc/passwd", "....//....//etc/passwd", "%2e%2e/%2e%2e/pyproject.toml",
        "app.css/", "app.css/x.css", "./././" * 100 + "app.css", "%ff%fe.css", "\u202e.css", "CON.css", "*.css",
    ])
    def test_an_odd_path_is_a_404(self, client, name):
        response = client.get(f"/static/{name}")
        assert response.status_code == 404, (name, response.status_code)

    @pytest.mark.parametrize("name", ["%00.css", "a%00b.js", "a" * 300 + "%00"])
    def test_a_nul_is_refused_at_the_door_as_everywhere(self, client, name):
        assert client.get(f"/static/{name}").status_code == 400

    def test_a_real_file_is_still_served(self, client):
        name = next(path.name for path in STATIC_DIR.iterdir() if path.suffix == ".css")
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=600))
    def test_any_path_answers_200_or_404(self, client, name):
        from urllib.parse import quote

        response = client.get("/static/" + quote(name, safe="/"))
        assert response.status_code in ((400,) if "\x00" in name else (200, 404)), (name, response.status_code)
