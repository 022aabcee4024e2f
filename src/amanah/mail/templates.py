"""E-mail templates in the recipient's language: English, Russian, Indonesian and Chinese.

Each template is a subject, a few paragraphs and one action link, per locale; ``render`` makes
the plain-text and the HTML part from the same words, so they never disagree. Parameters are
escaped for HTML; links are built from the base URL when the mail is sent.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

LOCALES = ("en", "ru", "id", "zh")
DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Words:
    subject: str
    paragraphs: tuple[str, ...]
    action: str
    """The label of the link (a button in the HTML part)."""


# Where each template's link points: pages of the web cabinet.
LINK_PATHS = {
    "verify_email": "/verify-email?token={token}",
    "password_reset": "/reset-password?token={token}",
    "invitation": "/reset-password?token={token}",
    "password_changed": "/forgot-password",
    "wind_down_notice": "/login",
    "seller_request": "/account/marketplaces",
}

GREETINGS = {
    "en": ("Hello,", "Hello {name},", "— Amanah"),
    "ru": ("Здравствуйте!", "Здравствуйте, {name}!", "— Amanah"),
    "id": ("Halo,", "Halo {name},", "— Amanah"),
    "zh": ("您好，", "{name}，您好：", "— Amanah"),
}

TEXTS: dict[str, dict[str, Words]] = {
    "verify_email": {
        "en": Words("Confirm your e-mail address", (
            "Please confirm that this is the e-mail address of your Amanah account by opening the "
            "link below. It is valid for 3 days.",
            "If you did not create an account, ignore this e-mail."), "Confirm my e-mail address"),
        "ru": Words("Подтвердите адрес электронной почты", (
            "Подтвердите, что это адрес вашей учётной записи Amanah: откройте ссылку ниже. "
            "Она действует 3 дня.",
            "Если вы не создавали учётную запись, просто не обращайте внимания на это письмо."),
            "Подтвердить адрес"),
        "id": Words("Konfirmasi alamat e-mail Anda", (
            "Konfirmasikan bahwa ini alamat e-mail akun Amanah Anda dengan membuka tautan di bawah. "
            "Tautan berlaku 3 hari.",
            "Jika Anda tidak membuat akun, abaikan e-mail ini."), "Konfirmasi alamat e-mail"),
        "zh": Words("请确认您的电子邮件地址", (
            "请打开下面的链接，确认这是您 Amanah 账户的电子邮件地址。链接 3 天内有效。",
            "如果您没有创建账户，请忽略此邮件。"), "确认电子邮件地址"),
    },
    "password_reset": {
        "en": Words("Reset your Amanah password", (
            "Someone, hopefully you, asked to reset the password of your Amanah account. Open the "
            "link below within 30 minutes to choose a new password. The link works once.",
            "If you did not ask for this, ignore this e-mail: your password stays as it is."),
            "Choose a new password"),
        "ru": Words("Восстановление пароля Amanah", (
            "Кто-то (надеемся, вы) попросил сбросить пароль вашей учётной записи Amanah. Откройте "
            "ссылку ниже в течение 30 минут и задайте новый пароль. Ссылка одноразовая.",
            "Если вы этого не просили, не обращайте внимания на письмо: пароль останется прежним."),
            "Задать новый пароль"),
        "id": Words("Atur ulang kata sandi Amanah Anda", (
            "Seseorang, semoga Anda, meminta pengaturan ulang kata sandi akun Amanah Anda. Buka "
            "tautan di bawah dalam 30 menit untuk memilih kata sandi baru. Tautan hanya berlaku "
            "sekali.",
            "Jika Anda tidak memintanya, abaikan e-mail ini: kata sandi Anda tidak berubah."),
            "Pilih kata sandi baru"),
        "zh": Words("重置您的 Amanah 密码", (
            "有人（希望是您本人）请求重置您 Amanah 账户的密码。请在 30 分钟内打开下面的链接设置新密码。"
            "该链接只能使用一次。",
            "如果这不是您本人的请求，请忽略此邮件，您的密码不会改变。"), "设置新密码"),
    },
    "password_changed": {
        "en": Words("Your Amanah password was changed", (
            "The password of your Amanah account was just changed, and every device signed in to "
            "it was signed out.",
            "If this was not you, reset your password at once with the link below and contact "
            "support."), "Reset my password"),
        "ru": Words("Пароль Amanah изменён", (
            "Пароль вашей учётной записи Amanah только что изменён, и все устройства, где был "
            "выполнен вход, отключены.",
            "Если это были не вы, немедленно сбросьте пароль по ссылке ниже и напишите в поддержку."),
            "Сбросить пароль"),
        "id": Words("Kata sandi Amanah Anda telah diubah", (
            "Kata sandi akun Amanah Anda baru saja diubah, dan semua perangkat yang masuk ke akun "
            "ini telah dikeluarkan.",
            "Jika ini bukan Anda, segera atur ulang kata sandi melalui tautan di bawah dan hubungi "
            "dukungan."), "Atur ulang kata sandi"),
        "zh": Words("您的 Amanah 密码已更改", (
            "您 Amanah 账户的密码刚刚被更改，所有已登录的设备均已退出。",
            "如果这不是您本人的操作，请立即通过下面的链接重置密码并联系客服。"), "重置密码"),
    },
    "invitation": {
        "en": Words("Your Amanah account is ready", (
            "You paid for a purchase at a marketplace that uses Amanah, so an account was created "
            "for you with this e-mail address. Your payments, and any money held for you in "
            "escrow, are in it.",
            "Open the link below within 7 days to choose a password. You can also always reach "
            "your account from the marketplace's menu."), "Choose a password"),
        "ru": Words("Ваша учётная запись Amanah готова", (
            "Вы оплатили покупку на торговой площадке, которая работает с Amanah, и для вас "
            "создана учётная запись с этим адресом. В ней ваши платежи и деньги, удерживаемые "
            "для вас до получения товара.",
            "Откройте ссылку ниже в течение 7 дней и задайте пароль. В учётную запись также "
            "всегда можно войти из меню торговой площадки."), "Задать пароль"),
        "id": Words("Akun Amanah Anda sudah siap", (
            "Anda membayar pembelian di marketplace yang memakai Amanah, sehingga akun dibuat "
            "untuk Anda dengan alamat e-mail ini. Pembayaran Anda, dan dana yang ditahan untuk "
            "Anda di rekening bersama (escrow), ada di sana.",
            "Buka tautan di bawah dalam 7 hari untuk memilih kata sandi. Anda juga selalu dapat "
            "membuka akun dari menu marketplace."), "Pilih kata sandi"),
        "zh": Words("您的 Amanah 账户已开通", (
            "您在使用 Amanah 的交易平台上完成了付款，因此我们用此电子邮件地址为您创建了账户。"
            "您的付款以及为您托管的资金都在其中。",
            "请在 7 天内打开下面的链接设置密码。您也可以随时从交易平台的菜单进入账户。"), "设置密码"),
    },
    "wind_down_notice": {
        "en": Words("Amanah is closing: please withdraw your balance", (
            "The Amanah payment service is winding down. Registration, binding new cards, top-ups and "
            "new orders are closed. Your money is safe and stays yours: your account still holds a "
            "balance or money in escrow.",
            "Everything you need keeps working: log in, pay for orders already placed with your balance, "
            "follow your orders to the end (confirm receipt, refunds, disputes), withdraw your balance "
            "to a card and delete your cards.",
            "Please log in and withdraw your balance (My account → Withdraw). Once it is zero and no "
            "order is open, you can download your data and close your account."), "Log in to my account"),
        "ru": Words("Amanah закрывается: пожалуйста, выведите баланс", (
            "Платёжный сервис Amanah сворачивает работу. Регистрация, привязка новых карт, пополнение и "
            "новые заказы закрыты. Ваши деньги в сохранности и остаются вашими: на вашем счёте есть "
            "баланс или деньги, удерживаемые до получения товара.",
            "Всё нужное продолжает работать: вход, оплата уже оформленных заказов с баланса, завершение "
            "заказов (подтверждение получения, возвраты, споры), вывод баланса на карту и удаление карт.",
            "Пожалуйста, войдите и выведите баланс («Мой счёт» → «Вывести»). Когда баланс станет нулевым "
            "и открытых заказов не останется, можно выгрузить свои данные и закрыть учётную запись."),
            "Войти в учётную запись"),
        "id": Words("Amanah akan ditutup: silakan tarik saldo Anda", (
            "Layanan pembayaran Amanah sedang ditutup. Pendaftaran, pengikatan kartu baru, isi ulang "
            "saldo, dan pesanan baru sudah ditutup. Uang Anda aman dan tetap milik Anda: akun Anda masih "
            "memiliki saldo atau dana yang ditahan di escrow.",
            "Semua yang Anda perlukan tetap berfungsi: masuk, membayar pesanan yang sudah dibuat dengan "
            "saldo, menyelesaikan pesanan (konfirmasi penerimaan, pengembalian dana, sengketa), menarik "
            "saldo ke kartu, dan menghapus kartu.",
            "Silakan masuk dan tarik saldo Anda (Akun saya → Tarik). Setelah saldo nol dan tidak ada "
            "pesanan terbuka, Anda dapat mengunduh data dan menutup akun."), "Masuk ke akun saya"),
        "zh": Words("Amanah 即将关闭：请提现您的余额", (
            "Amanah 支付服务正在逐步关闭。注册、绑定新卡、充值和新订单已停止。您的资金安全，仍归您所有："
            "您的账户中仍有余额或托管中的资金。",
            "您需要的功能仍可使用：登录、用余额支付已下的订单、完成订单（确认收货、退款、争议）、将余额"
            "提现到银行卡以及删除银行卡。",
            "请登录并提现您的余额（我的账户 → 提现）。余额为零且没有未完成的订单后，您可以下载数据并注销账户。"),
            "登录我的账户"),
    },
    "seller_request": {
        "en": Words("{platform} asks to pay you as its seller", (
            "The marketplace {platform} asked to register your Amanah account as one of its sellers. "
            "Nothing changes until you say yes: no trade can name you, and no money moves.",
            "If you sell through {platform}, accept the request in your account (My account → "
            "Marketplaces). If you do not know this marketplace, decline it."), "See the request"),
        "ru": Words("{platform} просит принимать вас как продавца", (
            "Торговая площадка {platform} попросила зарегистрировать вашу учётную запись Amanah как "
            "своего продавца. Пока вы не согласитесь, ничего не изменится: ни одна сделка не может "
            "назвать вас, и никакие деньги не двигаются.",
            "Если вы продаёте через {platform}, примите запрос в учётной записи («Мой счёт» → "
            "«Торговые площадки»). Если вы не знаете эту площадку, отклоните его."), "Посмотреть запрос"),
        "id": Words("{platform} meminta membayar Anda sebagai penjualnya", (
            "Marketplace {platform} meminta untuk mendaftarkan akun Amanah Anda sebagai salah satu "
            "penjualnya. Tidak ada yang berubah sampai Anda setuju: tidak ada transaksi yang dapat "
            "menyebut Anda, dan tidak ada uang yang berpindah.",
            "Jika Anda berjualan melalui {platform}, terima permintaan itu di akun Anda (Akun saya → "
            "Marketplace). Jika Anda tidak mengenal marketplace ini, tolak saja."), "Lihat permintaan"),
        "zh": Words("{platform} 请求将您登记为其卖家", (
            "交易平台 {platform} 请求将您的 Amanah 账户登记为其卖家。在您同意之前什么都不会改变："
            "任何交易都不能指定您，也不会有资金变动。",
            "如果您在 {platform} 上销售，请在账户中接受该请求（我的账户 → 交易平台）。"
            "如果您不认识这个交易平台，请拒绝。"), "查看请求"),
    },
}

assert all(set(by_locale) == set(LOCALES) for by_locale in TEXTS.values()), "every template in every locale"
assert set(TEXTS) == set(LINK_PATHS)


def resolve_locale(locale: str | None) -> str:
    """``ru-RU`` → ``ru``; anything we have no words for → English."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def render(template: str, locale: str, params: dict, base_url: str) -> Rendered:
    assert template in TEXTS, f"unknown mail template {template!r}"
    language = resolve_locale(locale)
    words = _with_text_params(TEXTS[template][language], params)
    link = base_url + LINK_PATHS[template].format(**{k: quote(str(v), safe="") for k, v in params.items()})
    greeting = _greeting(language, params.get("name"))
    return Rendered(words.subject, _text(words, greeting, link, language), _html(words, greeting, link, language))


TEXT_PARAMS = ("platform",)
"""Parameters written into a template's words (``{platform}``): only these, replaced as plain
text (never ``str.format``, which would read other braces); the HTML part escapes them."""


def _with_text_params(words: Words, params: dict) -> Words:
    def fill(text: str) -> str:
        for key in TEXT_PARAMS:
            if key in params:
                text = text.replace("{" + key + "}", str(params[key]))
        return text

    return Words(fill(words.subject), tuple(fill(p) for p in words.paragraphs), fill(words.action))


def _greeting(language: str, name: str | None) -> str:
    plain, named, _ = GREETINGS[language]
    return named.format(name=name) if name else plain


def _text(words: Words, greeting: str, link: str, language: str) -> str:
    first, *rest = words.paragraphs
    parts = [greeting, first, f"{words.action}:\n{link}", *rest, GREETINGS[language][2]]
    return "\n\n".join(parts) + "\n"


def _html(words: Words, greeting: str, link: str, language: str) -> str:
    e = html.escape
    first, *rest = words.paragraphs
    button = (f'<p><a href="{e(link)}" style="display:inline-block;padding:10px 18px;'
              f'background:#0b6e4f;color:#ffffff;text-decoration:none;border-radius:4px">'
              f"{e(words.action)}</a></p>\n<p style=\"font-size:12px;color:#555\">{e(link)}</p>")
    body = "\n".join([f"<p>{e(greeting)}</p>", f"<p>{e(first)}</p>", button,
                      *(f"<p>{e(paragraph)}</p>" for paragraph in rest), f"<p>{e(GREETINGS[language][2])}</p>"])
    return (f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{e(words.subject)}</title></head>\n<body style=\"font-family:sans-serif\">\n"
            f"{body}\n</body></html>\n")
