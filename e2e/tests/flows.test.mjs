// The flows of the product documentation, in order, as one person in one
// browser tab with a platform authenticator: sign up, add a passkey, sign
// out, sign in with it, rename, remove, and the orphaned passkey.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  addVirtualAuthenticator,
  callApi,
  eventually,
  expectText,
  launchBrowser,
  screenshot,
  startService,
  watchForPageErrors,
} from "../lib/harness.mjs";

const EMAIL = "ann@example.com";
const PASSWORD = "correct horse battery";
// Markup in a name must show as text, never as HTML.
const FIRST_NAME = "Ann's <b>laptop</b>";
const PASSKEYS = "/settings/security/passkeys";

describe("passkeys in the browser", { timeout: 180_000 }, () => {
  let service;
  let browser;
  let page;
  let authenticator;
  let pageErrors;

  const items = () => page.locator("#passkeys > li");
  const item = (name) => items().filter({ has: page.getByText(name, { exact: true }) });
  const alert = () => page.getByRole("alert");
  const status = () => page.getByRole("status");
  const path = () => new URL(page.url()).pathname;
  const token = () => page.evaluate(() => localStorage.getItem("monetro.token"));
  // Clicks "Sign in with Passkey" and confirms the dialog. First lets the
  // login page's autofill request reach the authenticator: one that starts
  // while presence is simulated completes by itself, and the button would
  // not be what signed in.
  const signInWithPasskey = async (then) => {
    await page.waitForLoadState("networkidle");
    await authenticator.confirming(async () => {
      await page.getByRole("button", { name: "Sign in with Passkey" }).click();
      await then();
    });
  };

  before(async () => {
    service = await startService();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    pageErrors = watchForPageErrors(page);
    authenticator = await addVirtualAuthenticator(page);
    // Records the Signal API calls of each page load (they still go through).
    await page.addInitScript(() => {
      window.signalCalls = [];
      for (const method of ["signalUnknownCredential", "signalAllAcceptedCredentials", "signalCurrentUserDetails"]) {
        const original = window.PublicKeyCredential?.[method];
        if (typeof original !== "function") continue;
        PublicKeyCredential[method] = (details) => {
          window.signalCalls.push({ method, details });
          return original.call(PublicKeyCredential, details);
        };
      }
    });
  });

  after(async () => {
    if (page) await screenshot(page, "flows-last").catch(() => {});
    await browser?.close();
    await service?.stop();
  });

  it("/ redirects to the login page, with labelled fields and no passkey button yet", async () => {
    await page.goto(`${service.origin}/`);
    assert.equal(path(), "/login");
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const email = page.getByLabel("Email", { exact: true });
    assert.equal(await email.getAttribute("autocomplete"), "username webauthn");
    await page.getByLabel("Password", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    // No passkey was registered on this device yet.
    assert.equal(await page.getByRole("button", { name: "Sign in with Passkey" }).isVisible(), false);
    await screenshot(page, "login");
  });

  it("signs up and lands on Settings › Security › Passkeys", async () => {
    await page.getByRole("link", { name: "Sign up" }).click();
    await page.waitForURL("**/signup");
    await screenshot(page, "signup");
    await page.getByLabel("Email", { exact: true }).fill(EMAIL);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Display name", { exact: true }).fill("Ann");
    await page.getByRole("button", { name: "Sign up", exact: true }).click();
    await page.waitForURL(`**${PASSKEYS}`);
    await page.getByRole("heading", { name: "Passkeys", exact: true }).waitFor();
    await expectText(page.locator("#who"), EMAIL);
    await expectText(page.locator("#list-state"), "No passkeys yet");
    assert.equal(await items().count(), 0);
    await screenshot(page, "passkeys-empty");
  });

  it("adds a passkey with a name and lists it", async () => {
    await page.getByLabel("Passkey name", { exact: true }).fill(FIRST_NAME);
    await authenticator.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      await expectText(status(), `Passkey “${FIRST_NAME}” added.`);
    });
    assert.equal(await items().count(), 1);
    const listed = item(FIRST_NAME);
    await listed.waitFor();
    assert.equal(await page.locator("#passkeys b").count(), 0, "the name was inserted as HTML");
    const text = await listed.textContent();
    for (const words of ["created", "last used: never", "not synced", "Unknown authenticator"]) {
      assert.ok(text.includes(words), `${JSON.stringify(words)} missing from ${JSON.stringify(text)}`);
    }
    await listed.getByRole("button", { name: "Rename" }).waitFor();
    await listed.getByRole("button", { name: "Remove" }).waitFor();
    const stored = await authenticator.credentials();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].isResidentCredential, true);
    assert.equal(await page.getByLabel("Passkey name", { exact: true }).inputValue(), "");
    await screenshot(page, "passkeys-added");
  });

  it("stays signed in across a reload, and / leads back to the passkeys", async () => {
    await page.reload();
    assert.equal(path(), PASSKEYS);
    await item(FIRST_NAME).waitFor();
    await page.goto(`${service.origin}/`);
    await page.waitForURL(`**${PASSKEYS}`);
    await item(FIRST_NAME).waitFor();
  });

  it("signs out, and a reload then shows the login page with the passkey button", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/login");
    assert.equal(await token(), null);
    await page.reload();
    assert.equal(path(), "/login");
    await page.getByRole("button", { name: "Sign in with Passkey" }).waitFor();
    await page.goto(`${service.origin}${PASSKEYS}`);
    await page.waitForURL("**/login");
    await screenshot(page, "login-with-passkey-button");
  });

  it("signs in with the passkey, usernameless, and 'last used' changes", async () => {
    await signInWithPasskey(() => page.waitForURL(`**${PASSKEYS}`));
    const listed = item(FIRST_NAME);
    await expectText(listed, "last used");
    assert.ok(!(await listed.textContent()).includes("last used: never"));
    const claims = JSON.parse(Buffer.from((await token()).split(".")[1], "base64url").toString());
    assert.deepEqual(claims.amr, ["webauthn"]);
    await screenshot(page, "passkeys-used");
  });

  it("renames a passkey", async () => {
    const listed = item(FIRST_NAME);
    await listed.getByRole("button", { name: "Rename" }).click();
    const input = listed.getByLabel("New name");
    assert.equal(await input.inputValue(), FIRST_NAME);
    await input.fill("Work laptop");
    await screenshot(page, "passkeys-rename");
    await listed.getByRole("button", { name: "Save" }).click();
    await expectText(status(), "Passkey renamed to “Work laptop”.");
    await item("Work laptop").waitFor();
    assert.equal(await items().count(), 1);
    // The password manager is told the account's current names.
    const signals = await page.evaluate(() => typeof PublicKeyCredential.signalCurrentUserDetails === "function");
    if (signals) {
      const calls = await page.evaluate(() => window.signalCalls);
      const listing = await callApi(service.origin, "GET", "/api/auth/passkey/list", { token: await token() });
      assert.deepEqual(calls.find((c) => c.method === "signalCurrentUserDetails")?.details, {
        rpId: "localhost",
        userId: listing.body.userHandle,
        name: EMAIL,
        displayName: "Ann",
      });
    }
    await page.reload();
    await item("Work laptop").waitFor();
  });

  it("removes a passkey here and, through the Signal API, from the authenticator", async (t) => {
    // A second passkey needs a second authenticator: the first one holds an
    // excluded credential and, without presence, never answers. This one
    // syncs its passkeys (backed up, as a password manager's are).
    const securityKey = await addVirtualAuthenticator(page, {
      transport: "usb",
      defaultBackupEligibility: true,
      defaultBackupState: true,
    });
    await page.getByLabel("Passkey name", { exact: true }).fill("Spare key");
    await securityKey.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      await expectText(status(), "Passkey “Spare key” added.");
    });
    assert.deepEqual(
      await items().locator(".passkey-name").allTextContents(),
      ["Spare key", "Work laptop"],
      "newest first",
    );
    assert.equal(await item("Spare key").locator(".badge").textContent(), "synced");
    assert.equal(await item("Work laptop").locator(".badge").textContent(), "not synced");
    assert.equal((await securityKey.credentials()).length, 1);
    await screenshot(page, "passkeys-two");
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the list is ${overflow}px wider than a phone screen`);
    await screenshot(page, "passkeys-two-phone");
    await page.setViewportSize({ width: 1024, height: 768 });

    await item("Spare key").getByRole("button", { name: "Remove" }).click();
    await expectText(status(), "Passkey “Spare key” removed from Monetro.");
    assert.equal(await items().count(), 1);
    await item("Work laptop").waitFor();
    await screenshot(page, "passkeys-removed");
    const signals = await page.evaluate(() => typeof PublicKeyCredential.signalAllAcceptedCredentials === "function");
    if (signals) {
      await expectText(status(), "Your browser or password manager has been asked to delete it");
      // signalAllAcceptedCredentials dropped the removed one, and only it.
      await eventually(() => securityKey.credentials(), (c) => c.length === 0, "the removed passkey deleted");
      assert.equal((await authenticator.credentials()).length, 1);
    } else {
      t.diagnostic("this Chromium has no signalAllAcceptedCredentials");
    }
    await securityKey.remove();
  });

  it("an orphaned passkey shows 'Unknown Passkey' and is dropped from the authenticator", async () => {
    // Removed on the server (through the API, as another device would),
    // still stored in this browser's authenticator.
    const bearer = await token();
    const listing = await callApi(service.origin, "GET", "/api/auth/passkey/list", { token: bearer });
    assert.equal(listing.status, 200);
    assert.equal(listing.body.passkeys.length, 1);
    const removed = await callApi(service.origin, "DELETE", `/api/auth/passkey/${listing.body.passkeys[0].id}`, {
      token: bearer,
    });
    assert.equal(removed.status, 204);
    // Leave without loading the list again (that would signal the removal).
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/login");
    assert.equal((await authenticator.credentials()).length, 1);

    await signInWithPasskey(() => expectText(alert(), "Unknown Passkey"));
    assert.equal(path(), "/login");
    const signals = await page.evaluate(() => typeof PublicKeyCredential.signalUnknownCredential === "function");
    if (signals) {
      await expectText(alert(), "Your browser has been asked to delete it");
      await eventually(() => authenticator.credentials(), (c) => c.length === 0, "the orphan deleted");
    } else {
      await expectText(alert(), "Delete it from your browser or operating system's password manager");
    }
    await screenshot(page, "login-unknown-passkey");
  });

  it("signs in with the password; a cancelled dialog shows the documented message", async () => {
    await page.getByLabel("Email", { exact: true }).fill(EMAIL);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`**${PASSKEYS}`);
    await expectText(page.locator("#list-state"), "No passkeys yet");

    // The person fails (or refuses) the Touch ID / PIN check.
    await authenticator.userVerified(false);
    try {
      await authenticator.confirming(async () => {
        await page.getByRole("button", { name: "Add Passkey" }).click();
        await expectText(alert(), "Registration was cancelled or blocked by the browser");
      });
    } finally {
      await authenticator.userVerified(true);
    }
    assert.equal(await items().count(), 0);
    assert.equal(await page.getByRole("button", { name: "Add Passkey" }).isEnabled(), true);
    await screenshot(page, "passkeys-cancelled");
  });

  it("offers passkeys in the email field's autofill (conditional mediation)", async (t) => {
    await page.getByLabel("Passkey name", { exact: true }).fill("Autofill");
    await authenticator.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      await expectText(status(), "Passkey “Autofill” added.");
    });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/login");
    const conditional = await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable?.() ?? false);
    if (!conditional) {
      t.skip("this Chromium offers no conditional mediation");
      return;
    }
    // With presence simulated, the autofill request of the login page
    // completes as if the person picked the passkey from the email field.
    await authenticator.confirming(async () => {
      await page.reload();
      await page.waitForURL(`**${PASSKEYS}`);
    });
    await expectText(item("Autofill"), "last used");
  });

  it("raised no CSP violation or script error", () => {
    assert.deepEqual(pageErrors, []);
  });
});
