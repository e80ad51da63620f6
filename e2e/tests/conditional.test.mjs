// Automatic passkey upgrade: after a password sign-in the passkeys page
// asks the browser to create a passkey silently (WebAuthn conditional
// create) where PublicKeyCredential.getClientCapabilities() reports
// conditionalCreate, and the service accepts it without user presence.
//
// What headless Chromium (Debian 156) does here, found by probing it:
// getClientCapabilities() reports conditionalCreate: true, but a
// create({mediation: "conditional"}) waits for Chromium's own password
// manager and never reaches the DevTools virtual authenticator (still
// pending when aborted after seconds). So the first test wraps
// navigator.credentials.create through page.addInitScript: a conditional
// call is recorded and handed to the virtual authenticator as a modal one.
// getClientCapabilities() is Chromium's own. WebAuthn.setResponseOverrideBits
// with isBadUP does clear UP in the authenticator data of a registration,
// so the credential the service accepts really has UP=0.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";

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

const PASSWORD = "correct horse battery";
const PASSKEYS = "/settings/security/passkeys";
const REGISTER_OPTIONS = "/api/auth/passkey/register-options";
const REGISTER = "/api/auth/passkey/register";

// Authenticator data flag: user present.
const FLAG_UP = 0x01;

function base64urlBytes(text) {
  return Buffer.from(text, "base64url");
}

describe("automatic passkey upgrade in the browser", { timeout: 180_000 }, () => {
  let service;
  let browser;
  let page;
  let authenticator;
  let pageErrors;
  let apiCalls;

  const token = () => page.evaluate(() => localStorage.getItem("monetro.token"));
  const passkeysOnServer = async () =>
    (await callApi(service.origin, "GET", "/api/auth/passkey/list", { token: await token() })).body.passkeys;

  // An account with a password, made through the API.
  const account = async (email) => {
    const created = await callApi(service.origin, "POST", "/api/auth/signup", {
      body: { email, password: PASSWORD },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  };

  const signInWithPassword = async (email) => {
    await page.goto(`${service.origin}/login`);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`**${PASSKEYS}`);
  };

  before(async () => {
    service = await startService();
  });

  after(async () => {
    await service?.stop();
  });

  beforeEach(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    pageErrors = watchForPageErrors(page);
    authenticator = await addVirtualAuthenticator(page);
    apiCalls = [];
    page.on("request", (request) => {
      const { pathname } = new URL(request.url());
      if (pathname.startsWith("/api/auth/passkey/")) apiCalls.push(`${request.method()} ${pathname}`);
    });
  });

  afterEach(async (context) => {
    if (page) await screenshot(page, `conditional-${context.name.slice(0, 40).replace(/\W+/g, "-")}`).catch(() => {});
    await browser?.close();
  });

  // A conditional create goes to the virtual authenticator as a modal one
  // (see the top of this file) and is recorded; so are Signal API calls.
  const conditionalCreateAsModal = () =>
    page.addInitScript(() => {
      window.conditionalCreates = [];
      window.unknownSignalled = [];
      const original = navigator.credentials.create.bind(navigator.credentials);
      navigator.credentials.create = (options) => {
        if (options?.mediation !== "conditional") return original(options);
        window.conditionalCreates.push({
          userVerification: options.publicKey.authenticatorSelection?.userVerification,
        });
        const { mediation, ...modal } = options;
        return original(modal);
      };
      PublicKeyCredential.signalUnknownCredential = async (details) => {
        window.unknownSignalled.push(details.credentialId);
      };
    });

  it("creates a passkey without user presence after a password sign-in", async () => {
    await conditionalCreateAsModal();
    await authenticator.presence(true);
    await authenticator.cdp.send("WebAuthn.setResponseOverrideBits", {
      authenticatorId: authenticator.id,
      isBadUP: true,
    });
    await account("ann@example.com");

    const registered = page.waitForRequest((r) => r.url().endsWith(REGISTER) && r.method() === "POST");
    const stored = page.waitForResponse((r) => r.url().endsWith(REGISTER));
    await signInWithPassword("ann@example.com");
    assert.equal(
      (await page.evaluate(() => PublicKeyCredential.getClientCapabilities())).conditionalCreate,
      true,
      "Chromium reports conditionalCreate",
    );

    const sent = (await registered).postDataJSON().credential;
    const flags = base64urlBytes(sent.response.authenticatorData)[32];
    assert.equal(flags & FLAG_UP, 0, "the virtual authenticator cleared UP");
    assert.equal((await stored).status(), 201);

    assert.deepEqual(await page.evaluate(() => window.conditionalCreates), [{ userVerification: "preferred" }]);
    await expectText(page.locator("#list-state"), "1 passkey.");
    const passkeys = await passkeysOnServer();
    assert.equal(passkeys.length, 1);
    assert.equal(passkeys[0].credentialId, sent.rawId);
    assert.equal((await authenticator.credentials()).length, 1);
    assert.equal(await page.evaluate(() => localStorage.getItem("monetro.passkeyHint")), "1");
    assert.equal(await page.getByRole("alert").textContent(), "", "no message either way");
    assert.deepEqual(pageErrors, []);

    // A reload is not a new password sign-in: nothing more is attempted.
    apiCalls.length = 0;
    await page.reload();
    await expectText(page.locator("#list-state"), "1 passkey.");
    await page.waitForLoadState("networkidle");
    assert.deepEqual(apiCalls.filter((call) => call.includes("register")), []);
  });

  it("tells the password manager to drop a passkey the service refused, not one it may hold", async () => {
    await conditionalCreateAsModal();
    await authenticator.presence(true);
    await account("dan@example.com");
    const answers = [
      { status: 400, code: "REGISTRATION_FAILED" },
      { status: 503, code: "SERVICE_UNAVAILABLE" },
    ];
    for (const { status, code } of answers) {
      await page.route(`**${REGISTER}`, (route) =>
        route.fulfill({
          status,
          contentType: "application/json",
          body: JSON.stringify({ error: { code, message: "refused in this test" } }),
        }),
      );
      const refused = page.waitForResponse((r) => r.url().endsWith(REGISTER));
      await signInWithPassword("dan@example.com");
      assert.equal((await refused).status(), status);
      await expectText(page.locator("#list-state"), "No passkeys yet.");
      await page.waitForLoadState("networkidle");
      const made = (await authenticator.credentials()).map((c) => Buffer.from(c.credentialId, "base64").toString("base64url"));
      const signalled = await page.evaluate(() => window.unknownSignalled);
      if (status === 400) assert.deepEqual(signalled, [made.at(-1)], "a refused passkey is signalled");
      else assert.deepEqual(signalled, [], "without an answer it may be stored: not signalled");
      assert.equal(await page.getByRole("alert").textContent(), "", "no message either way");
      assert.deepEqual(await passkeysOnServer(), []);
      await page.unroute(`**${REGISTER}`);
      await page.evaluate(() => localStorage.clear());
    }
    assert.deepEqual(pageErrors, []);
  });

  it("attempts nothing where the browser does not report conditionalCreate", async () => {
    await page.addInitScript(() => {
      window.creates = 0;
      const original = navigator.credentials.create.bind(navigator.credentials);
      navigator.credentials.create = (options) => {
        window.creates += 1;
        return original(options);
      };
      const capabilities = PublicKeyCredential.getClientCapabilities.bind(PublicKeyCredential);
      PublicKeyCredential.getClientCapabilities = async () => ({
        ...(await capabilities()),
        conditionalCreate: false,
      });
    });
    await authenticator.presence(true);
    await account("bob@example.com");
    await signInWithPassword("bob@example.com");
    await expectText(page.locator("#list-state"), "No passkeys yet.");
    await page.waitForLoadState("networkidle");
    assert.deepEqual(
      apiCalls.filter((call) => call.includes("register")),
      [],
      "no options were asked for",
    );
    assert.equal(await page.evaluate(() => window.creates), 0);
    assert.deepEqual(await passkeysOnServer(), []);
    assert.deepEqual(pageErrors, []);
  });

  it("a conditional create the browser keeps waiting does not block Add Passkey", async () => {
    // Chromium's own conditional create, only watched: it waits, as
    // described above, until Add Passkey ends it.
    await page.addInitScript(() => {
      window.conditionalCreate = "not called";
      const original = navigator.credentials.create.bind(navigator.credentials);
      navigator.credentials.create = (options) => {
        const call = original(options);
        if (options?.mediation === "conditional") {
          window.conditionalCreate = "pending";
          call.then(
            () => (window.conditionalCreate = "resolved"),
            (error) => (window.conditionalCreate = error.name),
          );
        }
        return call;
      };
    });
    await account("cat@example.com");
    const asked = page.waitForResponse((r) => r.url().endsWith(REGISTER_OPTIONS));
    await signInWithPassword("cat@example.com");
    assert.equal((await asked).status(), 200);
    await expectText(page.locator("#list-state"), "No passkeys yet.");
    await eventually(() => page.evaluate(() => window.conditionalCreate), (state) => state === "pending", "the call");
    await page.waitForTimeout(1000);
    assert.equal(await page.evaluate(() => window.conditionalCreate), "pending");

    await page.getByLabel("Passkey name", { exact: true }).fill("Laptop");
    await authenticator.confirming(async () => {
      await page.getByRole("button", { name: "Add Passkey" }).click();
      await expectText(page.getByRole("status"), "Passkey “Laptop” added.");
    });
    assert.equal(await page.evaluate(() => window.conditionalCreate), "AbortError");
    await eventually(passkeysOnServer, (passkeys) => passkeys.length === 1, "the added passkey");
    assert.deepEqual(apiCalls.filter((call) => call === `POST ${REGISTER}`), [`POST ${REGISTER}`]);
    assert.deepEqual(pageErrors, []);
  });
});
