"""E-mail templates: every one in every language, text and HTML from the same words."""

from __future__ import annotations

import pytest

from amanah.mail import templates
from amanah.mail.transport import parse_smtp_url

ALL = [(template, locale) for template in templates.TEXTS for locale in templates.LOCALES]


class TestRenderingTemplates:
    @pytest.mark.parametrize(("template", "locale"), ALL)
    def test_every_template_has_a_subject_a_link_and_both_parts(self, template, locale):
        rendered = templates.render(template, locale, {"token": "upr_abc", "name": "Ana"}, "https://pay.example")
        assert rendered.subject
        assert "https://pay.example/" in rendered.text and 'href="https://pay.example/' in rendered.html
        assert "Ana" in rendered.text and f'lang="{locale}"' in rendered.html

    def test_the_link_carries_the_token(self):
        rendered = templates.render("password_reset", "en", {"token": "upr_abc-_1"}, "https://pay.example")
        assert "https://pay.example/reset-password?token=upr_abc-_1" in rendered.text

    def test_russian_mail_is_in_russian(self):
        assert templates.render("password_reset", "ru-RU", {"token": "t"}, "http://x").subject.startswith("Восстановление")

    def test_parameters_are_escaped_in_html(self):
        rendered = templates.render("verify_email", "en", {"token": "t", "name": "<script>x</script>"}, "http://x")
        assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html

    @pytest.mark.parametrize(("given", "resolved"), [("ru_RU", "ru"), ("zh-Hans-CN", "zh"), ("id", "id"),
                                                    ("fr", "en"), (None, "en"), ("", "en")])
    def test_a_locale_resolves_to_a_language_we_have(self, given, resolved):
        assert templates.resolve_locale(given) == resolved


class TestSmtpUrls:
    def test_a_plain_url_with_credentials(self):
        server = parse_smtp_url("smtp://mailer:p%40ss@mail.example:2525")
        assert (server.scheme, server.host, server.port, server.username, server.password) == \
            ("smtp", "mail.example", 2525, "mailer", "p@ss")

    def test_default_ports_follow_the_scheme(self):
        assert parse_smtp_url("smtp+starttls://mail.example").port == 587
        assert parse_smtp_url("smtps://mail.example").port == 465
        assert parse_smtp_url("smtp://mail.example").port == 25

    def test_another_scheme_is_refused(self):
        with pytest.raises(ValueError, match="AMANAH_SMTP_URL"):
            parse_smtp_url("http://mail.example")
