"""Users and sign-in: accounts, passwords, tokens and sessions, recovery, captcha, two-factor.

How it fits together (``service/`` holds one module per concern; import from ``service``):

- **Accounts** (``accounts``): direct registration (e-mail checked with email-validator and
  stored lower-cased, a name, a password) or **automatic registration** when a buyer first pays
  at a marketplace (no password; an invitation e-mail carries a set-your-password link).
  E-mail addresses are verified by a single-use link.
- **Passwords** (``passwords``): 8–128 characters, not among the 3,000 most common, hashed with
  Argon2id at OWASP's parameters and re-hashed at log-in when those change.
- **Secrets** (``tokens``): every token, session id and link is a purpose prefix plus 256
  random bits, shown once and stored as a SHA-256 digest, with an expiry; single-use ones are
  consumed atomically. API tokens are ``ut_…``; cabinet sessions are rotated at each log-in and
  carry a per-session CSRF token; platforms get two-minute single sign-on links bound to them.
- **Log-in** (``login``) checks captcha, throttle, password and second factor, answering the
  same whether or not an e-mail has an account. **Throttling** (``throttle``) counts failures
  per account and per client address: doubling delays up to 15 minutes and a captcha after a
  few, without letting an attacker lock the owner out (a solved captcha waives the account's
  delay). **Captchas** (``captcha``) are real images, single use, expiring.
- **Recovery** (``reset``): e-mail + captcha → a 30-minute single-use link → a new password →
  every session and token revoked and a notice e-mailed. Two-factor is never bypassed.
- **Two-factor** (``two_factor``): TOTP with a QR code and a confirmation code, plus ten
  single-use recovery codes.

Use cases whose failures must still be recorded (a failed log-in counts; a wrong captcha is
used up) return an ``Outcome``: the edge commits, then ``unwrap()`` raises the error. Mail goes
through ``amanah.mail``'s outbox, in the same transaction as the change that causes it.
"""
