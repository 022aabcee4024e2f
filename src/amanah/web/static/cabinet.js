// Amanah cabinet: small progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- card fields: live validation and the brand icon (the server checks everything again) ---
  var BRANDS = [
    { brand: "mir", ranges: [[2200, 2204]], lengths: [16, 17, 18, 19] },
    { brand: "visa", ranges: [[4, 4]], lengths: [13, 16, 19] },
    { brand: "mastercard", ranges: [[51, 55], [2221, 2720]], lengths: [16] },
    { brand: "unionpay", ranges: [[62, 62], [81, 81]], lengths: [16, 17, 18, 19] }
  ];

  function brandOf(digits) {
    for (var i = 0; i < BRANDS.length; i++) {
      var rule = BRANDS[i];
      for (var j = 0; j < rule.ranges.length; j++) {
        var low = rule.ranges[j][0], high = rule.ranges[j][1], width = String(low).length;
        if (digits.length >= width) {
          var lead = parseInt(digits.slice(0, width), 10);
          if (lead >= low && lead <= high) return rule;
        }
      }
    }
    return null;
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var value = parseInt(digits[digits.length - 1 - i], 10);
      if (i % 2 === 1) { value *= 2; if (value > 9) value -= 9; }
      sum += value;
    }
    return sum % 10 === 0;
  }

  function mark(input, status, ok, message) {
    if (ok === null) { input.removeAttribute("aria-invalid"); input.removeAttribute("data-valid"); status.textContent = ""; return; }
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    input.setAttribute("data-valid", ok ? "true" : "false");
    status.textContent = ok ? "" : message;
  }

  function setUpCardForm(form) {
    var number = form.querySelector("[data-card-number]");
    var expiry = form.querySelector("[data-card-expiry]");
    var cvc = form.querySelector("[data-card-cvc]");
    var icon = form.querySelector("[data-brand-icon]");
    var numberStatus = document.getElementById(number.getAttribute("aria-describedby"));
    var expiryStatus = document.getElementById(expiry.getAttribute("aria-describedby"));
    var cvcStatus = document.getElementById(cvc.getAttribute("aria-describedby"));

    function checkNumber(final) {
      var digits = number.value.replace(/\D/g, "");
      var rule = brandOf(digits);
      icon.src = "/static/brands/" + (rule ? rule.brand : "unknown") + ".svg";
      icon.alt = rule ? rule.brand : "";
      var grouped = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
      if (grouped !== number.value) number.value = grouped;
      if (!digits) return mark(number, numberStatus, null);
      if (digits.length >= 2 && !rule) return mark(number, numberStatus, false, numberStatus.dataset.messageBrand);
      var complete = rule && rule.lengths.indexOf(digits.length) >= 0 && luhn(digits);
      var longest = rule ? Math.max.apply(null, rule.lengths) : 19;
      if (complete) return mark(number, numberStatus, true);
      // Most cards have 16 digits: a wrong number of that length is worth saying at once.
      if (final || digits.length >= Math.min(16, longest)) return mark(number, numberStatus, false, numberStatus.dataset.messageInvalid);
      mark(number, numberStatus, null);
    }

    function checkExpiry(final) {
      var raw = expiry.value.replace(/[^\d]/g, "");
      if (raw.length > 2 && expiry.value.indexOf("/") < 0) expiry.value = raw.slice(0, 2) + "/" + raw.slice(2, 4);
      if (!raw) return mark(expiry, expiryStatus, null);
      var match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(expiry.value.trim());
      if (!match) return final ? mark(expiry, expiryStatus, false, expiryStatus.dataset.messageInvalid) : mark(expiry, expiryStatus, null);
      var month = parseInt(match[1], 10), year = parseInt(match[2], 10);
      if (year < 100) year += 2000;
      var now = new Date(), current = now.getFullYear() * 12 + now.getMonth() + 1;
      var ok = month >= 1 && month <= 12 && year * 12 + month >= current && year <= now.getFullYear() + 20;
      mark(expiry, expiryStatus, ok, expiryStatus.dataset.messageInvalid);
    }

    function checkCvc(final) {
      var digits = cvc.value.replace(/\D/g, "");
      if (digits !== cvc.value) cvc.value = digits;
      if (!digits) return mark(cvc, cvcStatus, null);
      if (digits.length === 3) return mark(cvc, cvcStatus, true);
      if (final || digits.length > 3) return mark(cvc, cvcStatus, false, cvcStatus.dataset.messageInvalid);
      mark(cvc, cvcStatus, null);
    }

    number.addEventListener("input", function () { checkNumber(false); });
    number.addEventListener("blur", function () { checkNumber(true); });
    expiry.addEventListener("input", function () { checkExpiry(false); });
    expiry.addEventListener("blur", function () { checkExpiry(true); });
    cvc.addEventListener("input", function () { checkCvc(false); });
    cvc.addEventListener("blur", function () { checkCvc(true); });
  }

  // --- confirmation dialogs: a form with data-confirm="dialog-id" asks first ---
  function setUpConfirm(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed === "yes") return;
      var dialog = document.getElementById(form.dataset.confirm);
      if (!dialog || typeof dialog.showModal !== "function") return;  // no <dialog>: the server still acts
      event.preventDefault();
      dialog.querySelector("[data-confirm-message]").textContent = form.dataset.confirmText || "";
      var opener = document.activeElement;
      dialog.returnValue = "";
      dialog.addEventListener("close", function closed() {
        dialog.removeEventListener("close", closed);
        if (dialog.returnValue === "confirm") { form.dataset.confirmed = "yes"; form.submit(); }
        else if (opener && opener.focus) opener.focus();
      });
      dialog.showModal();
    });
  }

  // --- checkout: show the new-card fields only when "a new card" is chosen ---
  function setUpSources(form) {
    var panels = form.querySelectorAll("[data-when-source]");
    function update() {
      var chosen = form.querySelector("input[name=source]:checked");
      panels.forEach(function (panel) {
        var show = chosen && chosen.value === panel.dataset.whenSource;
        panel.hidden = !show;
        panel.querySelectorAll("input").forEach(function (input) { input.required = show; });
      });
    }
    form.addEventListener("change", function (event) { if (event.target.name === "source") update(); });
    update();
  }

  onReady(function () {
    document.querySelectorAll("[data-card-form]").forEach(setUpCardForm);
    document.querySelectorAll("form[data-confirm]").forEach(setUpConfirm);
    document.querySelectorAll(".pay-form").forEach(setUpSources);
    document.querySelectorAll("[data-autosubmit-on-change]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });
    document.querySelectorAll("a[data-back]").forEach(function (link) {
      if (history.length > 1) link.addEventListener("click", function (event) { event.preventDefault(); history.back(); });
    });
  });
})();
