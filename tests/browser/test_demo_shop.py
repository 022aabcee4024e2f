"""The seed's story from the marketplace's side: a NEW buyer buys in the Demo Bazaar (which uses
only the public platform API), is registered by the purchase, lands on the cabinet's checkout
through the shop's single sign-on link, pays by card with 3-D Secure, and sees the order held in
the shop; the seller marks it shipped."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SERVER_START_TIMEOUT_S, new_email
from tests.e2e.conftest import LiveServer, free_port, wait_until_healthy


@pytest.fixture(scope="module")
def shop(cabinet, tmp_path_factory):
    made = cabinet.amanah("platforms", "create", "Demo Bazaar")
    assert made.returncode == 0, made.stderr
    assert cabinet.amanah("rates", "load-sample").returncode == 0
    folder = tmp_path_factory.mktemp("shop")
    port = free_port()
    env = {**os.environ, "AMANAH_SHOP_API_URL": cabinet.url, "AMANAH_DATA_DIR": str(folder),
           "AMANAH_SHOP_PLATFORM_KEY": made.stdout.strip().splitlines()[0]}
    log = open(folder / "shop.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "amanah.demo_shop", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", env, process)
    try:
        wait_until_healthy(server.url, server.process, folder / "shop.log", SERVER_START_TIMEOUT_S, "the demo shop")
        yield server
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_a_new_buyer_buys_in_the_shop_pays_by_card_and_sees_the_order_held(page, shop, screenshots):
    email = new_email("shopper")
    page.goto(f"{shop.url}/")
    expect(page.locator(".product")).to_have_count(4)
    expect(page.locator(".products")).to_contain_text("$25.99")
    expect(page.locator(".products")).to_contain_text("Rp 350,000.00")
    page.screenshot(path=screenshots / "shop.png", full_page=True)
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Your shop id").fill("shopper-1")
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("button", name="Buy Blue clay teapot, 600 ml").click()
    expect(page.get_by_role("heading", name="Blue clay teapot, 600 ml")).to_be_visible()  # the cabinet's checkout
    expect(page.locator(".order")).to_contain_text("Teapot Workshop")
    page.get_by_label("A new card").check()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("11/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on the card").fill("Dewi Lestari")
    page.get_by_role("button", name="Pay", exact=True).click()
    if page.get_by_role("heading", name="3-D Secure check").is_visible():
        page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()

    page.goto(f"{shop.url}/orders")
    order = page.locator("tr.order")
    expect(order).to_have_count(1)
    expect(order).to_have_attribute("data-status", "held")
    expect(order).to_contain_text("Paid, held in escrow")
    page.screenshot(path=screenshots / "shop-orders.png", full_page=True)

    page.goto(f"{shop.url}/seller")
    page.get_by_role("button", name="Mark").first.click()
    expect(page.locator("tr.order").first).to_have_attribute("data-status", "shipped")

    page.goto(f"{shop.url}/my-amanah")  # SSO into the cabinet: this buyer was registered by the shop
    page.wait_for_url("**/account**")
