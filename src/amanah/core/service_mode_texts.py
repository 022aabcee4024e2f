"""The wind-down banner's words, per locale (the cabinet shows them; the notice e-mail says the
same). Kept apart from ``service_mode`` so translators touch words, not logic."""

from __future__ import annotations

LOCALES = ("en", "ru", "id", "zh")

BANNER_TEXTS: dict[str, dict] = {
    "en": {
        "title": "This payment service is closing",
        "body": ("We are winding the service down. Registration, binding new cards, top-ups and new "
                 "orders are no longer possible. Your money is safe and stays yours."),
        "still_works": ["Logging in and recovering your password",
                        "Paying for orders already placed, with your balance",
                        "Orders in progress: shipping, confirming receipt, refunds and disputes",
                        "Withdrawing your balance to a card",
                        "Deleting your cards, your payment history and downloading your data"],
        "to_do": ("Please withdraw your balance to a card (My account → Withdraw). When your balance is "
                  "zero and no order is open, you can download your data and close your account."),
    },
    "ru": {
        "title": "Платёжный сервис закрывается",
        "body": ("Мы сворачиваем работу сервиса. Регистрация, привязка новых карт, пополнение и новые "
                 "заказы больше недоступны. Ваши деньги в сохранности и остаются вашими."),
        "still_works": ["Вход и восстановление пароля",
                        "Оплата уже оформленных заказов с баланса",
                        "Текущие заказы: отправка, подтверждение получения, возвраты и споры",
                        "Вывод баланса на карту",
                        "Удаление карт, история платежей и выгрузка ваших данных"],
        "to_do": ("Пожалуйста, выведите баланс на карту («Мой счёт» → «Вывести»). Когда баланс равен нулю "
                  "и открытых заказов нет, можно выгрузить свои данные и закрыть учётную запись."),
    },
    "id": {
        "title": "Layanan pembayaran ini akan ditutup",
        "body": ("Kami sedang menutup layanan ini. Pendaftaran, pengikatan kartu baru, isi ulang saldo, dan "
                 "pesanan baru tidak lagi tersedia. Uang Anda aman dan tetap milik Anda."),
        "still_works": ["Masuk dan memulihkan kata sandi",
                        "Membayar pesanan yang sudah dibuat dengan saldo Anda",
                        "Pesanan berjalan: pengiriman, konfirmasi penerimaan, pengembalian dana, dan sengketa",
                        "Menarik saldo ke kartu",
                        "Menghapus kartu, riwayat pembayaran, dan mengunduh data Anda"],
        "to_do": ("Silakan tarik saldo Anda ke kartu (Akun saya → Tarik). Setelah saldo nol dan tidak ada "
                  "pesanan terbuka, Anda dapat mengunduh data dan menutup akun."),
    },
    "zh": {
        "title": "本支付服务即将关闭",
        "body": "我们正在逐步关闭本服务。注册、绑定新卡、充值和新订单已停止。您的资金安全，仍归您所有。",
        "still_works": ["登录和找回密码",
                        "用余额支付已下的订单",
                        "进行中的订单：发货、确认收货、退款和争议",
                        "将余额提现到银行卡",
                        "删除银行卡、查看付款记录和下载您的数据"],
        "to_do": "请将余额提现到银行卡（我的账户 → 提现）。余额为零且没有未完成的订单后，您可以下载数据并注销账户。",
    },
}

assert set(BANNER_TEXTS) == set(LOCALES)


def pick(locale: str | None) -> dict:
    """The words in ``locale`` (``ru-RU`` → ``ru``), English when we have none in it."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return {"locale": language if language in BANNER_TEXTS else "en",
            **BANNER_TEXTS.get(language, BANNER_TEXTS["en"])}
