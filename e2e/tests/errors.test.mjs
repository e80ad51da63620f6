// The troubleshooting rows of the product documentation that are not part
// of the main flow: no WebAuthn, no secure context (TLS errors, plain HTTP
// off localhost), a backend answering 502 or not at all; and what a 401 or
// a taken email does to the pages.

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import {
  INSECURE_HOST,
  addVirtualAuthenticator,
  callApi,
  expectText,
  launchBrowser,
  screenshot,
  startService,
  watchForPageErrors,
} from "../lib/harness.mjs";

const PASSKEYS = "/settings/security/passkeys";

describe("documented errors in the browser", { timeout: 180_000 }, () => {
  let service;
  let browser;
  let page;
  let pageErrors = [];
  let token;

  const alert = () => page.getByRole("alert");
  const path = () => new URL(page.url()).pathname;
  const passkeyButton = () => page.getByRole("button", { name: "Sign in with Passkey" });

  before(async () => {
    service = await startService();
    browser = await launchBrowser();
    const signup = await callApi(service.origin, "POST", "/api/auth/signup", {
      body: { email: "bob@example.com", password: "correct horse battery" },
    });
    assert.equal(signup.status, 201);
    token = signup.body.token;
  });

  beforeEach(async () => {
    if (page) {
      assert.deepEqual(pageErrors, [], "CSP violations or script errors on the previous page");
      await page.close();
    }
    // Each test starts signed out, with nothing remembered on this device.
    await browser.context.clearCookies();
    page = await browser.context.newPage();
    await page.goto(`${service.origin}/healthz`);
    await page.evaluate(() => localStorage.clear());
    pageErrors = watchForPageErrors(page);
  });

  after(async () => {
    if (page) assert.deepEqual(pageErrors, [], "CSP violations or script errors");
    await browser?.close();
    await service?.stop();
  });

  // Runs before the page's own script on every navigation of `page`.
  const beforeScripts = (fn, arg) => page.addInitScript(fn, arg);
  const signedIn = () => beforeScripts((t) => localStorage.setItem("monetro.token", t), token);
  const passkeyHint = () => beforeScripts(() => localStorage.setItem("monetro.passkeyHint", "1"));

  it("a browser without WebAuthn is told so, and offers no passkey buttons", async () => {
    await beforeScripts(() => {
      delete window.PublicKeyCredential;
    });
    await passkeyHint();
    await page.goto(`${service.origin}/login`);
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    assert.equal(await passkeyButton().isVisible(), false);

    await signedIn();
    await page.goto(`${service.origin}${PASSKEYS}`);
    await expectText(alert(), "This browser does not support passkeys (WebAuthn).");
    assert.equal(await page.getByRole("button", { name: "Add Passkey" }).isDisabled(), true);
    await screenshot(page, "passkeys-unsupported");
  });

  it("plain HTTP off localhost (not a secure context) quotes the TLS row", async () => {
    await passkeyHint();
    const insecure = `http://${INSECURE_HOST}:${service.port}`;
    await page.goto(`${insecure}/login`);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    await expectText(alert(), "WebAuthn is not supported on sites with TLS certificate errors");
    await expectText(alert(), "Plain HTTP only works on localhost.");
    assert.equal(await passkeyButton().isVisible(), false);
    await screenshot(page, "login-insecure");

    await signedIn();
    await page.goto(`${insecure}${PASSKEYS}`);
    await expectText(alert(), "WebAuthn is not supported on sites with TLS certificate errors");
    assert.equal(await page.getByRole("button", { name: "Add Passkey" }).isDisabled(), true);
  });

  it("a backend answering 502 on passkey login is reported", async () => {
    await passkeyHint();
    await addVirtualAuthenticator(page);
    await page.route("**/api/auth/passkey/authenticate-options", (route) =>
      route.fulfill({ status: 502, contentType: "text/html", body: "<h1>502 Bad Gateway</h1>" }),
    );
    await page.goto(`${service.origin}/login`);
    await passkeyButton().click();
    await expectText(alert(), "The Monetro service is not reachable right now.");
    await expectText(alert(), "Backend returns 502");
    assert.equal(path(), "/login");
    await screenshot(page, "login-backend-502");
  });

  it("a backend that does not answer is reported on password sign-in", async () => {
    await page.route("**/api/auth/login", (route) => route.abort("connectionrefused"));
    await page.goto(`${service.origin}/login`);
    await page.getByLabel("Email", { exact: true }).fill("bob@example.com");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expectText(alert(), "The Monetro service is not reachable right now.");
    await expectText(alert(), "No answer from the backend");
    assert.equal(path(), "/login");
  });

  it("a wrong password is refused without leaving the page", async () => {
    await page.goto(`${service.origin}/login`);
    await page.getByLabel("Email", { exact: true }).fill("bob@example.com");
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expectText(alert(), "Wrong email or password.");
    assert.equal(path(), "/login");
  });

  it("a token the API refuses (401) means signed out", async () => {
    await beforeScripts(() => {
      if (!sessionStorage.getItem("planted")) {
        sessionStorage.setItem("planted", "1");
        localStorage.setItem("monetro.token", "not-a-valid-token");
      }
    });
    await page.goto(`${service.origin}${PASSKEYS}`);
    await page.waitForURL("**/login?expired");
    await expectText(page.getByRole("status"), "Your session has ended.");
    assert.equal(await page.evaluate(() => localStorage.getItem("monetro.token")), null);
  });

  it("signing up with a taken email says so", async () => {
    await page.goto(`${service.origin}/signup`);
    await page.getByLabel("Email", { exact: true }).fill("bob@example.com");
    await page.getByLabel("Password", { exact: true }).fill("another long password");
    await page.getByRole("button", { name: "Sign up", exact: true }).click();
    await expectText(alert(), "An account with this email already exists.");
    assert.equal(path(), "/signup");
  });

  it("fits a phone screen", async () => {
    await signedIn();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${service.origin}${PASSKEYS}`);
    await expectText(page.locator("#list-state"), "No passkeys yet");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await screenshot(page, "passkeys-phone");
    await page.goto(`${service.origin}/signup`);
    await screenshot(page, "signup-phone");
  });
});
