// Test harness: the real service binary on a free port in a temp directory,
// headless Debian Chromium driven by playwright-core, and the DevTools
// virtual authenticator.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const ARTIFACTS = path.join(ROOT, "e2e", "artifacts");
const BINARY = process.env.MONETRO_BIN ?? path.join(ROOT, "target", "debug", "monetro");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// A host name that resolves to this machine but is not localhost, so pages
// served under it are not a secure context (plain HTTP off localhost).
export const INSECURE_HOST = "monetro.test";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ensureBinary() {
  if (existsSync(BINARY)) return;
  execFileSync("cargo", ["build", "-p", "monetro-http", "--bin", "monetro"], { cwd: ROOT, stdio: "inherit" });
}

// Services still running when the test process ends, however it ends.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(1));
}

// Starts the service (with `env` added to its environment); resolves once
// /healthz answers. `stop()` ends it (SIGTERM, then SIGKILL) and deletes
// its directory.
export async function startService({ env: extra = {} } = {}) {
  ensureBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), "monetro-e2e-"));
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const env = {
    ...process.env,
    MONETRO_BIND: `127.0.0.1:${port}`,
    MONETRO_RP_ID: "localhost",
    MONETRO_RP_ORIGINS: origin,
    DATABASE_URL: `sqlite://${dir}/m.db`,
    MONETRO__SECRETS__DATA_DIR: path.join(dir, "data"),
    MONETRO__LOG__FORMAT: "json",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    ...extra,
  };
  delete env.MONETRO_ENV;
  const child = spawn(BINARY, [], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) {
        child.kill("SIGKILL");
        await exited;
      }
    }
    running.delete(child);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`the service exited at start:\n${log}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the service did not become healthy:\n${log}`);
    }
    await sleep(100);
  }
  return { origin, port, stop, log: () => log };
}

// Headless Chromium with a fresh user data directory. `close()` ends it and
// deletes the directory.
export async function launchBrowser() {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), "monetro-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1024, height: 768 },
      locale: "en-GB",
      timezoneId: "UTC",
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

// The DevTools Protocol's virtual authenticator on `page`: a platform
// authenticator (ctap2, internal transport) with resident keys and user
// verification. Presence is not simulated unless asked, so the autofill
// request of the login page does not complete by itself.
export async function addVirtualAuthenticator(page, options = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: false,
      ...options,
    },
  });
  const authenticator = {
    id: authenticatorId,
    cdp,
    presence: (enabled) =>
      cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled }),
    userVerified: (isUserVerified) => cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified }),
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
    remove: () => cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId }),
    // Runs `action` with presence simulated, as a person confirming the
    // browser dialog on purpose.
    async confirming(action) {
      await authenticator.presence(true);
      try {
        return await action();
      } finally {
        await authenticator.presence(false);
      }
    },
  };
  return authenticator;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Waits until `locator`'s text contains `text`; the error names what it saw.
export async function expectText(locator, text, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let seen = "";
  for (;;) {
    seen = (await locator.allTextContents().catch(() => [])).join(" | ");
    if (seen.includes(text)) return seen;
    if (Date.now() > deadline) throw new Error(`expected ${JSON.stringify(text)} in ${locator}, saw ${JSON.stringify(seen)}`);
    await sleep(100);
  }
}

// Polls `read` until `accept` holds for its value; returns the value.
export async function eventually(read, accept, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

// Collects CSP violations and uncaught errors of a page.
export function watchForPageErrors(page) {
  const errors = [];
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Trusted Type|Refused to/i.test(text)) errors.push(`console: ${text}`);
  });
  return errors;
}

// Calls the JSON API from the test (not the browser).
export async function callApi(origin, method, apiPath, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(origin + apiPath, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
