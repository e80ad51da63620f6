// Sessions on the passkeys page: the list ("This device", sign-in method),
// ending another session, refreshing an access token the API refuses,
// signing out on the service, and "Confirm it's you" before a passkey is
// added once the step-up window has closed.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
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

const PASSKEYS = "/settings/security/passkeys";
const PASSWORD = "correct horse battery";
// Short, so the test can outwait it.
const STEP_UP_WINDOW_SECS = 3;

describe("sessions in the browser", { timeout: 180_000 }, () => {
  let service;
  let browser;
  let page;
  let authenticator;
  let pageErrors;

  const sessions = () => page.locator("#sessions > li");
  const status = () => page.getByRole("status");
  const stored = (key) => page.evaluate((k) => localStorage.getItem(k), key);

  // Signs in on the login page with the password.
  const signIn = async (email) => {
    await page.goto(`${service.origin}/login`);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`**${PASSKEYS}`);
  };

  before(async () => {
    service = await startService({
      env: { MONETRO__TOKENS__STEP_UP_WINDOW_SECS: String(STEP_UP_WINDOW_SECS) },
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    pageErrors = watchForPageErrors(page);
    authenticator = await addVirtualAuthenticator(page);
    const signup = await callApi(service.origin, "POST", "/api/auth/signup", {
      body: { email: "sam@example.com", password: PASSWORD },
    });
    assert.equal(signup.status, 201);
  });

  after(async () => {
    if (page) await screenshot(page, "sessions-last").catch(() => {});
    assert.deepEqual(pageErrors, [], "CSP violations or script errors");
    await browser?.close();
    await service?.stop();
  });

  it("lists the sessions and ends another one", async () => {
    await signIn("sam@example.com");
    assert.match(await stored("monetro.refresh"), /^[A-Za-z0-9_-]{43}$/);
    await expectText(sessions(), "This device");
    assert.equal(await sessions().count(), 2, "the sign-up's session and this one");
    const here = sessions().filter({ hasText: "This device" });
    await expectText(here, "Chrome on Linux");
    await expectText(here, "signed in with a password");
    assert.equal(await here.getByRole("button", { name: "End session" }).isVisible(), false);
    await screenshot(page, "sessions-list");

    const other = sessions().filter({ hasNotText: "This device" });
    const otherId = await other.getAttribute("data-id");
    await other.getByRole("button", { name: "End session" }).click();
    await expectText(status(), "Session ended.");
    assert.equal(await sessions().count(), 1);
    const listed = await callApi(service.origin, "GET", "/api/auth/sessions", {
      token: await stored("monetro.token"),
    });
    assert.deepEqual(
      listed.body.sessions.map((s) => s.id).filter((id) => id === otherId),
      [],
      "the ended session is gone on the service",
    );
  });

  it("refreshes an access token the API refuses, with the refresh token", async () => {
    const refreshBefore = await stored("monetro.refresh");
    await page.evaluate(() => localStorage.setItem("monetro.token", "expired.or.revoked"));
    await page.reload();
    await expectText(page.locator("#who"), "sam@example.com");
    assert.notEqual(await stored("monetro.token"), "expired.or.revoked");
    assert.notEqual(await stored("monetro.refresh"), refreshBefore, "rotated");
    assert.equal(await sessions().count(), 1, "still the same session");
  });

  it("asks to confirm it's you before adding a passkey after the window", async () => {
    await sleep((STEP_UP_WINDOW_SECS + 1) * 1000);
    await authenticator.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
      await dialog.waitFor();
      await screenshot(page, "sessions-confirm");
      assert.equal(
        await dialog.getByRole("button", { name: "Use a passkey" }).isVisible(),
        false,
        "no passkey to confirm with yet",
      );
      await dialog.getByLabel("Password", { exact: true }).fill("not the password");
      await dialog.getByRole("button", { name: "Confirm with password" }).click();
      await expectText(dialog.getByRole("alert"), "Wrong email or password.");
      await dialog.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await dialog.getByRole("button", { name: "Confirm with password" }).click();
      await expectText(status(), "added.");
    });
    assert.equal((await authenticator.credentials()).length, 1);

    // Later again, the new passkey confirms a rename.
    await sleep((STEP_UP_WINDOW_SECS + 1) * 1000);
    const item = page.locator("#passkeys > li").first();
    await item.getByRole("button", { name: "Rename" }).click();
    await item.getByLabel("New name", { exact: true }).fill("Laptop");
    await item.getByRole("button", { name: "Save" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await authenticator.confirming(async () => {
      await dialog.getByRole("button", { name: "Use a passkey" }).click();
      await expectText(status(), "Passkey renamed to “Laptop”.");
    });
    await expectText(sessions().filter({ hasText: "This device" }), "signed in with a passkey");
  });

  it("signs out on the service", async () => {
    const refreshToken = await stored("monetro.refresh");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/login");
    assert.equal(await stored("monetro.refresh"), null);
    const refreshed = await callApi(service.origin, "POST", "/api/auth/token/refresh", {
      body: { refreshToken },
    });
    assert.equal(refreshed.status, 401, "the session ended");
  });
});
