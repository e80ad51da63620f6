// Sign-up with a passkey and no password, the last passkey kept, and the
// "Add Passkey" choice of authenticator sent as a WebAuthn hint.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  addVirtualAuthenticator,
  callApi,
  expectText,
  launchBrowser,
  screenshot,
  startService,
  watchForPageErrors,
} from "../lib/harness.mjs";

const EMAIL = "pat@example.com";
const PASSKEYS = "/settings/security/passkeys";

describe("passkey-only accounts in the browser", { timeout: 180_000 }, () => {
  let service;
  let browser;
  let page;
  let authenticator;
  let securityKey;
  let pageErrors;

  const items = () => page.locator("#passkeys > li");
  const alert = () => page.getByRole("alert");
  const status = () => page.getByRole("status");
  const token = () => page.evaluate(() => localStorage.getItem("monetro.token"));

  // Clicks "Add Passkey" with `choice` selected, confirming on `device`;
  // resolves to the options the service sent (their `hints` included).
  const addPasskey = async (choice, device, name) => {
    await page.getByLabel(choice, { exact: true }).check();
    await page.getByLabel("Passkey name", { exact: true }).fill(name);
    const sent = page.waitForRequest((r) => r.url().endsWith("/api/auth/passkey/register-options"));
    const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/passkey/register-options"));
    await device.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      await expectText(status(), `Passkey “${name}” added.`);
    });
    const request = await sent;
    assert.equal(request.method(), "POST");
    return { body: request.postDataJSON(), options: (await (await answered).json()).publicKey };
  };

  before(async () => {
    service = await startService();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    pageErrors = watchForPageErrors(page);
    authenticator = await addVirtualAuthenticator(page);
  });

  after(async () => {
    if (page) await screenshot(page, "accounts-last").catch(() => {});
    await browser?.close();
    await service?.stop();
  });

  it("signs up with a passkey, without a password", async () => {
    await page.goto(`${service.origin}/signup`);
    const button = page.getByRole("button", { name: "Sign up with a passkey" });
    await button.waitFor();
    await screenshot(page, "signup-with-passkey");
    // The email is needed; the password is not.
    await button.click();
    assert.equal(await page.getByLabel("Email", { exact: true }).evaluate((e) => e.validity.valid), false);
    assert.equal(await authenticator.credentials().then((c) => c.length), 0);

    await page.getByLabel("Email", { exact: true }).fill(EMAIL);
    await page.getByLabel("Display name", { exact: true }).fill("Pat");
    await authenticator.confirming(async () => {
      await button.click();
      await page.waitForURL(`**${PASSKEYS}`);
    });
    await expectText(page.locator("#who"), EMAIL);
    await expectText(page.locator("#list-state"), "1 passkey.");
    const stored = await authenticator.credentials();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].isResidentCredential, true);
    const claims = JSON.parse(Buffer.from((await token()).split(".")[1], "base64url").toString());
    assert.deepEqual(claims.amr, ["webauthn"]);

    // No password: password login fails as a wrong password does.
    const login = await callApi(service.origin, "POST", "/api/auth/login", {
      body: { email: EMAIL, password: "any password at all" },
    });
    assert.equal(login.status, 401);
    assert.equal(login.body.error.code, "INVALID_CREDENTIALS");
    await screenshot(page, "passkey-only-account");
  });

  it("keeps the last passkey of an account without a password", async () => {
    await items().first().getByRole("button", { name: "Remove" }).click();
    await expectText(alert(), "This passkey is the last way to sign in to your account.");
    assert.equal(await items().count(), 1);
    assert.equal((await authenticator.credentials()).length, 1);
    await screenshot(page, "last-credential");
  });

  it("sends the chosen kind of authenticator as a hint", async () => {
    await page.getByRole("group", { name: "Where to keep it" }).waitFor();
    assert.equal(await page.getByLabel("This device", { exact: true }).isChecked(), true);

    // A security key: a second virtual authenticator, on USB.
    securityKey = await addVirtualAuthenticator(page, { transport: "usb" });
    const key = await addPasskey("Security key", securityKey, "YubiKey");
    assert.deepEqual(key.body, { hints: ["security-key"] });
    assert.deepEqual(key.options.hints, ["security-key"]);
    assert.equal((await securityKey.credentials()).length, 1);
    // The choice goes back to "This device" after a passkey is added.
    assert.equal(await page.getByLabel("This device", { exact: true }).isChecked(), true);

    // A phone: the virtual authenticator stands in for one over hybrid.
    const phone = await addVirtualAuthenticator(page, { transport: "hybrid" });
    const viaPhone = await addPasskey("Phone", phone, "Pixel");
    assert.deepEqual(viaPhone.body, { hints: ["hybrid"] });
    assert.deepEqual(viaPhone.options.hints, ["hybrid"]);
    assert.equal(await items().count(), 3);

    // With other passkeys left, the first one may go now.
    const first = items().filter({ hasText: "created" }).last();
    await first.getByRole("button", { name: "Remove" }).click();
    await expectText(status(), "removed from Monetro.");
    assert.equal(await items().count(), 2);
    await screenshot(page, "hints");
  });

  it("signs in again with a passkey of the passkey-only account", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/login");
    // Let the login page's autofill request reach the authenticators first.
    await page.waitForLoadState("networkidle");
    await securityKey.confirming(async () => {
      await page.getByRole("button", { name: "Sign in with Passkey" }).click();
      await page.waitForURL(`**${PASSKEYS}`);
    });
    await expectText(page.locator("#who"), EMAIL);
    await expectText(page.locator("#list-state"), "2 passkeys.");
    assert.deepEqual(pageErrors, []);
  });

  it("sets a password for the passkey-only account, then changes it", async () => {
    const passwordState = page.locator("#password-state");
    const current = page.getByLabel("Current password", { exact: true });
    const fresh = page.getByLabel("New password", { exact: true });
    await expectText(passwordState, "You sign in with passkeys only.");
    assert.equal(await current.isVisible(), false);
    const login = (password) =>
      callApi(service.origin, "POST", "/api/auth/login", { body: { email: EMAIL, password } });

    // Too short: the browser refuses before the service is asked.
    await fresh.fill("short");
    await page.getByRole("button", { name: "Set password" }).click();
    assert.equal(await fresh.evaluate((e) => e.validity.valid), false);

    await fresh.fill("first password");
    await page.getByRole("button", { name: "Set password" }).click();
    await expectText(status(), "Password set.");
    await expectText(passwordState, "You can also sign in with your email and password.");
    assert.equal((await login("first password")).status, 200);
    await screenshot(page, "password-set");

    // Changing it needs the current one.
    assert.equal(await current.isVisible(), true);
    await current.fill("not the password");
    await fresh.fill("second password");
    await page.getByRole("button", { name: "Change password" }).click();
    await expectText(alert(), "The current password is wrong.");
    assert.equal((await login("first password")).status, 200);

    await current.fill("first password");
    await fresh.fill("second password");
    await page.getByRole("button", { name: "Change password" }).click();
    await expectText(status(), "Password changed.");
    assert.equal((await login("first password")).status, 401);
    assert.equal((await login("second password")).status, 200);
    assert.equal(await fresh.inputValue(), "", "the form is cleared");
    assert.deepEqual(pageErrors, []);
  });
});
