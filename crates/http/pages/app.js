// The Monetro web pages: sign-in, sign-up and Settings › Security › Passkeys.
//
// One plain ES module, no dependencies and no build step. The pages' CSP
// forbids inline code, so every page loads this file and its
// `<body data-page>` picks what runs. Text from the service (passkey names,
// emails, messages) is only ever inserted with `textContent`.
//
// Session: the bearer token of API.md and the refresh token live in
// localStorage, so a reload keeps the person signed in. An access token
// about to expire, or answered 401, is traded for a new one with the
// refresh token (one refresh at a time: a refresh token works once); when
// that fails too, the person is signed out. "Sign out" ends the session
// on the service and forgets both. A 403 REAUTHENTICATION_REQUIRED asks
// for a passkey or the password, then retries. A third localStorage entry
// is the hint that a passkey was registered (or used) on this device,
// which shows the "Sign in with Passkey" button. A password sign-in leaves
// a one-time note in sessionStorage for the passkeys page: try the
// automatic passkey upgrade there.

const TOKEN_KEY = "monetro.token";
const REFRESH_KEY = "monetro.refresh";
const PASSKEY_HINT_KEY = "monetro.passkeyHint";
const UPGRADE_KEY = "monetro.passkeyUpgrade";
const LOGIN_PAGE = "/login";
const PASSKEYS_PAGE = "/settings/security/passkeys";

// The product documentation's messages, verbatim, and what to do about them.
const MESSAGES = {
  cancelled: "Registration was cancelled or blocked by the browser",
  cancelledHelp:
    "Try again and confirm the browser dialog (Touch ID, Face ID, Windows Hello or your security key's PIN); make sure no other passkey dialog is open.",
  unknownPasskey: "Unknown Passkey",
  unknownPasskeySignalled:
    "This passkey is stored on this device but no longer exists in your Monetro account. Your browser has been asked to delete it. Sign in with your password, then add a new passkey under Settings › Security › Passkeys.",
  unknownPasskeyManual:
    "This passkey is stored on this device but no longer exists in your Monetro account. Delete it from your browser or operating system's password manager (for example macOS › System Settings › Passwords › search \"monetro\" › delete), then sign in with your password and add a new passkey.",
  tls: "WebAuthn is not supported on sites with TLS certificate errors",
  insecureHelp:
    "Passkeys only work on a secure connection: open Monetro over HTTPS with a valid certificate (an invalid or expired certificate blocks them too). Plain HTTP only works on localhost.",
  unsupported: "This browser does not support passkeys (WebAuthn).",
  unsupportedHelp: "Use a current Chrome, Edge, Safari or Firefox, or sign in with your password.",
  unreachable: "The Monetro service is not reachable right now.",
  // Completed with "Backend returns 502" (or 503, 504) or "No answer".
  unreachableHelp:
    "the backend is down or restarting. Try again in a moment; if this persists, the backend needs to be redeployed.",
  signInCancelled: "Passkey sign-in was cancelled, or no Monetro passkey was chosen.",
  signInCancelledHelp: "Try again, or sign in with your email and password.",
  alreadyRegistered: "This device already holds a passkey for your account.",
  alreadyRegisteredHelp: "You can sign in with it. To add it again, remove it from the list first.",
  expired: "Your session has ended. Please sign in again.",
  invalidCredentials: "Wrong email or password.",
  emailTaken: "An account with this email already exists. Sign in instead.",
  lastCredential: "This passkey is the last way to sign in to your account.",
  lastCredentialHelp: "Add another passkey first; then you can remove this one.",
  limitReached: "You have as many passkeys as Monetro allows.",
  limitReachedHelp: "Remove one you no longer use, then add the new one.",
  rateLimited: "Too many attempts. Wait a moment, then try again.",
  stepUpCancelled: "Not changed: confirming it's you was cancelled.",
  sessionEnded: "Session ended.",
  sessionEndedHelp: "That device is signed out now.",
  passwordSet: "Password set.",
  passwordSetHelp: "You can now also sign in with your email and this password.",
  passwordChanged: "Password changed.",
  wrongCurrentPassword: "The current password is wrong.",
  noPassword: "You sign in with passkeys only. A password lets you sign in where you have none of them.",
  hasPassword: "You can also sign in with your email and password.",
};

// ---------------------------------------------------------------- storage

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage disabled: nothing is remembered, so no sign-in can last.
  }
}

// The note a password sign-in leaves for the passkeys page (see
// upgradeToPasskey), and reading it once.
function offerUpgrade() {
  try {
    sessionStorage.setItem(UPGRADE_KEY, "1");
  } catch {
    // Storage disabled: no automatic upgrade.
  }
}

function takeUpgradeOffer() {
  try {
    const offered = sessionStorage.getItem(UPGRADE_KEY) === "1";
    sessionStorage.removeItem(UPGRADE_KEY);
    return offered;
  } catch {
    return false;
  }
}

const token = () => stored(TOKEN_KEY);
const hasPasskeyHint = () => stored(PASSKEY_HINT_KEY) === "1";
const rememberPasskey = () => store(PASSKEY_HINT_KEY, "1");

// Keeps the tokens of a session body.
function keepSession(session) {
  store(TOKEN_KEY, session.token);
  store(REFRESH_KEY, session.refreshToken ?? null);
}

function forgetSession() {
  store(TOKEN_KEY, null);
  store(REFRESH_KEY, null);
}

function signedIn(session) {
  keepSession(session);
  location.replace(PASSKEYS_PAGE);
}

// ---------------------------------------------------------------- messages

const $ = (id) => document.getElementById(id);

function clearMessages() {
  $("alert").replaceChildren();
  $("status").replaceChildren();
}

// Puts a message in the alert (errors) or status (success) region.
function show(region, title, detail) {
  const lines = [document.createElement("strong")];
  lines[0].textContent = title;
  if (detail) {
    const more = document.createElement("span");
    more.textContent = detail;
    lines.push(more);
  }
  $(region).replaceChildren(...lines);
}

const showError = (title, detail) => show("alert", title, detail);
const showStatus = (title, detail) => show("status", title, detail);

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// Seconds before its expiry at which an access token is refreshed.
const REFRESH_AHEAD_SECS = 30;

// The `exp` of a JWT, or 0 when it cannot be read.
function expiryOf(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload + "===".slice((payload.length + 3) % 4))).exp ?? 0;
  } catch {
    return 0;
  }
}

// The 401 codes that mean the bearer token is no good (a 401 such as
// INVALID_CREDENTIALS is about the request, not the token).
const TOKEN_REFUSED = ["UNAUTHORIZED", "TOKEN_EXPIRED"];
const tokenRefused = (error) => error.status === 401 && TOKEN_REFUSED.includes(error.code);

// The refresh in flight: concurrent calls share it, since a refresh token
// used twice ends the session.
let refreshing = null;

// Trades the stored refresh token for new tokens; resolves to whether it
// worked. `stale` is the access token that failed: when another tab
// refreshed meanwhile, the stored one is newer and is used as is.
function refreshSession(stale) {
  if (token() && token() !== stale) return Promise.resolve(true);
  refreshing ??= (async () => {
    const refreshToken = stored(REFRESH_KEY);
    if (!refreshToken) return false;
    try {
      keepSession(await request("/api/auth/token/refresh", { method: "POST", body: { refreshToken } }));
      return true;
    } catch (error) {
      if (error.status !== 401 && error.status !== 400) throw error;
      forgetSession();
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// Calls the JSON API of API.md. Resolves to the body (null for 204);
// rejects with an ApiError whose code is the contract's, or UNREACHABLE
// when no answer came or a proxy answered 502/503/504, or SIGNED_OUT after
// a 401 on a bearer call that a refresh could not cure (the tokens are
// then forgotten).
async function api(path, { method = "GET", body, auth = false } = {}) {
  if (!auth) return request(path, { method, body });
  let used = token();
  if (used && expiryOf(used) - REFRESH_AHEAD_SECS < Date.now() / 1000) {
    await refreshSession(used);
    used = token();
  }
  try {
    return await request(path, { method, body, bearer: used });
  } catch (error) {
    if (!tokenRefused(error)) throw error;
    if (await refreshSession(used)) {
      try {
        return await request(path, { method, body, bearer: token() });
      } catch (again) {
        if (!tokenRefused(again)) throw again;
      }
    }
    forgetSession();
    throw new ApiError(401, "SIGNED_OUT", MESSAGES.expired);
  }
}

// One call, no refresh.
async function request(path, { method = "GET", body, bearer } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "UNREACHABLE", MESSAGES.unreachable);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok && data !== null) return data;
  if ([502, 503, 504].includes(response.status) || (!response.ok && !data?.error)) {
    throw new ApiError(response.status, "UNREACHABLE", MESSAGES.unreachable);
  }
  if (response.ok) throw new ApiError(response.status, "UNEXPECTED", "The service sent an unreadable answer.");
  const { code, message, ...details } = data.error;
  throw new ApiError(response.status, code, message, details);
}

// Shows what went wrong with a call the person started.
function report(error) {
  if (!(error instanceof ApiError)) {
    showError("Something went wrong.", String(error?.message ?? error));
    return;
  }
  switch (error.code) {
    case "SIGNED_OUT":
      location.replace(`${LOGIN_PAGE}?expired`);
      return;
    case "UNREACHABLE": {
      const cause = error.status ? `Backend returns ${error.status}` : "No answer from the backend";
      showError(MESSAGES.unreachable, `${cause}: ${MESSAGES.unreachableHelp}`);
      return;
    }
    case "INVALID_CREDENTIALS":
      showError(MESSAGES.invalidCredentials);
      return;
    case "EMAIL_TAKEN":
      showError(MESSAGES.emailTaken);
      return;
    case "RATE_LIMITED":
      showError(MESSAGES.rateLimited);
      return;
    case "PASSKEY_ALREADY_REGISTERED":
      showError(MESSAGES.alreadyRegistered, MESSAGES.alreadyRegisteredHelp);
      return;
    case "LAST_CREDENTIAL":
      showError(MESSAGES.lastCredential, MESSAGES.lastCredentialHelp);
      return;
    case "PASSKEY_LIMIT_REACHED":
      showError(MESSAGES.limitReached, MESSAGES.limitReachedHelp);
      return;
    case "VALIDATION_FAILED":
      showError("Please check what you entered.", error.message);
      return;
    case "STEP_UP_CANCELLED":
      showError(MESSAGES.stepUpCancelled);
      return;
    default:
      showError(error.message || "Something went wrong.", error.code ? `(${error.code})` : "");
  }
}

// ---------------------------------------------------------------- WebAuthn

// Why passkeys cannot work on this page, or null when they can.
function webauthnProblem() {
  if (!window.isSecureContext) return "insecure";
  if (!window.PublicKeyCredential || !navigator.credentials?.create) return "unsupported";
  return null;
}

function showWebauthnProblem(problem) {
  if (problem === "insecure") showError(MESSAGES.tls, MESSAGES.insecureHelp);
  else showError(MESSAGES.unsupported, MESSAGES.unsupportedHelp);
}

const base64url = {
  encode(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  },
};

const withIds = (list) => (list ?? []).map((c) => ({ ...c, id: base64url.decode(c.id) }));

// WebAuthn Level 3 JSON helpers, with a fallback for browsers without them.
function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64url.decode(json.challenge),
    user: { ...json.user, id: base64url.decode(json.user.id) },
    excludeCredentials: withIds(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64url.decode(json.challenge),
    allowCredentials: withIds(json.allowCredentials),
  };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const json = {
    id: credential.id,
    rawId: base64url.encode(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    response: { clientDataJSON: base64url.encode(r.clientDataJSON) },
  };
  if (r.attestationObject) {
    json.response.attestationObject = base64url.encode(r.attestationObject);
    json.response.transports = r.getTransports?.() ?? [];
  } else {
    json.response.authenticatorData = base64url.encode(r.authenticatorData);
    json.response.signature = base64url.encode(r.signature);
    if (r.userHandle) json.response.userHandle = base64url.encode(r.userHandle);
  }
  return json;
}

// The pending quiet (conditional mediation) request, if any: the login
// page's autofill offer or the passkeys page's automatic upgrade. Chromium
// refuses a modal request or a signal while it waits, so both end it first.
let quiet = null;

async function stopQuietRequest() {
  const pending = quiet;
  quiet = null;
  if (!pending) return;
  pending.controller.abort();
  await pending.done.catch(() => {});
}

// Calls one of the Signal API's methods when the browser has it; errors are
// ignored (the signal is advice to the password manager). Returns whether
// the browser has the method.
async function signal(method, details) {
  if (webauthnProblem() || typeof PublicKeyCredential[method] !== "function") return false;
  await stopQuietRequest();
  try {
    await PublicKeyCredential[method](details);
  } catch {
    // Not applied; nothing the person can do about it.
  }
  return true;
}

// Shows what the browser said about a ceremony the person started.
function reportWebauthn(error, ceremony) {
  switch (error?.name) {
    case "NotAllowedError":
    case "AbortError":
      if (ceremony === "registration") showError(MESSAGES.cancelled, MESSAGES.cancelledHelp);
      else showError(MESSAGES.signInCancelled, MESSAGES.signInCancelledHelp);
      return;
    case "InvalidStateError":
      showError(MESSAGES.alreadyRegistered, MESSAGES.alreadyRegisteredHelp);
      return;
    case "SecurityError":
      showError(MESSAGES.tls, MESSAGES.insecureHelp);
      return;
    case "NotSupportedError":
      showError(MESSAGES.unsupported, MESSAGES.unsupportedHelp);
      return;
    default:
      showError("Your browser could not use the passkey.", `${error?.name ?? "Error"}: ${error?.message ?? error}`);
  }
}

// Keeps a button disabled (and marked busy) while `work` runs.
async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- login page

async function loginPage() {
  const problem = webauthnProblem();
  if (problem === "insecure") showWebauthnProblem(problem);
  if (new URLSearchParams(location.search).has("expired")) showStatus(MESSAGES.expired);

  if (token()) {
    try {
      await api("/api/auth/me", { auth: true });
      location.replace(PASSKEYS_PAGE);
      return;
    } catch (error) {
      if (error.code !== "SIGNED_OUT") report(error);
    }
  }

  const button = $("passkey-button");
  if (!problem && hasPasskeyHint()) {
    $("passkey-sign-in").hidden = false;
    button.addEventListener("click", () => busy(button, signInWithPasskey));
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    busy(form.querySelector("button[type=submit]"), async () => {
      clearMessages();
      try {
        const session = await api("/api/auth/login", {
          method: "POST",
          body: { email: form.elements.email.value.trim(), password: form.elements.password.value },
        });
        offerUpgrade();
        signedIn(session);
      } catch (error) {
        report(error);
      }
    });
  });

  if (!problem) startAutofill();
}

// Offers passkeys in the email field's autofill where the browser can.
async function startAutofill() {
  try {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
  } catch {
    return;
  }
  const controller = new AbortController();
  const done = (async () => {
    const options = await api("/api/auth/passkey/authenticate-options", { method: "POST", body: {} });
    if (controller.signal.aborted) return null;
    return navigator.credentials.get({
      mediation: "conditional",
      publicKey: requestOptions(options.publicKey),
      signal: controller.signal,
    });
  })();
  quiet = { controller, done };
  let credential;
  try {
    credential = await done;
  } catch {
    return; // Aborted, or nothing to offer: not something the person did.
  } finally {
    if (quiet?.controller === controller) quiet = null;
  }
  if (credential) await finishPasskeySignIn(credential);
}

// "Sign in with Passkey": a usernameless, modal request. When it does not
// sign in, the autofill offer comes back.
async function signInWithPasskey() {
  clearMessages();
  await stopQuietRequest();
  try {
    const options = await api("/api/auth/passkey/authenticate-options", { method: "POST", body: {} });
    let credential = null;
    try {
      credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    } catch (error) {
      reportWebauthn(error, "authentication");
    }
    if (credential && (await finishPasskeySignIn(credential))) return;
  } catch (error) {
    report(error);
  }
  startAutofill();
}

// Sends an assertion; signs in, or explains why not. Returns whether it
// signed in.
async function finishPasskeySignIn(credential) {
  let session;
  try {
    session = await api("/api/auth/passkey/authenticate", {
      method: "POST",
      body: { credential: credentialJSON(credential) },
    });
  } catch (error) {
    if (error.code === "PASSKEY_NOT_FOUND") await unknownPasskey(error.details);
    else report(error);
    return false;
  }
  rememberPasskey();
  signedIn(session);
  return true;
}

// The documentation's caution, fixed: the browser is told to forget the
// orphaned passkey; without the Signal API, the person is told how.
async function unknownPasskey({ rpId, credentialId }) {
  const signalled =
    rpId && credentialId && (await signal("signalUnknownCredential", { rpId, credentialId }));
  showError(MESSAGES.unknownPasskey, signalled ? MESSAGES.unknownPasskeySignalled : MESSAGES.unknownPasskeyManual);
}

// ---------------------------------------------------------------- sign-up page

function signupPage() {
  const form = $("signup-form");
  const passkeyButton = $("passkey-signup-button");
  if (webauthnProblem()) $("passkey-sign-up").hidden = true;
  else passkeyButton.addEventListener("click", () => busy(passkeyButton, () => signUpWithPasskey(form)));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    busy(form.querySelector("button[type=submit]"), async () => {
      clearMessages();
      const { email, password } = form.elements;
      const displayName = form.elements.displayName.value.trim();
      try {
        signedIn(
          await api("/api/auth/signup", {
            method: "POST",
            body: {
              email: email.value.trim(),
              password: password.value,
              ...(displayName && { displayName }),
            },
          }),
        );
      } catch (error) {
        report(error);
      }
    });
  });
}

// "Sign up with a passkey": an account with no password, its passkey
// created in the same step. The email (and display name) come from the
// form; the password field is not used.
async function signUpWithPasskey(form) {
  clearMessages();
  const { email } = form.elements;
  if (!email.reportValidity()) return;
  const displayName = form.elements.displayName.value.trim();
  try {
    const options = await api("/api/auth/passkey/signup-options", {
      method: "POST",
      body: { email: email.value.trim(), ...(displayName && { displayName }) },
    });
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    } catch (error) {
      reportWebauthn(error, "registration");
      return;
    }
    const session = await api("/api/auth/passkey/signup", {
      method: "POST",
      body: { credential: credentialJSON(credential) },
    });
    rememberPasskey();
    signedIn(session);
  } catch (error) {
    report(error);
  }
}

// ---------------------------------------------------------------- passkeys page

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function timeElement(iso) {
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = dateFormat.format(new Date(iso));
  return time;
}

async function passkeysPage() {
  if (!token()) {
    location.replace(LOGIN_PAGE);
    return;
  }
  const page = { user: null, rpId: null, userHandle: null, passkeys: 0, hasPassword: false };
  const addForm = $("add-form");
  const addButton = $("add-button");
  const list = $("passkeys");

  $("sign-out").addEventListener("click", () =>
    busy($("sign-out"), async () => {
      // Ends the session on the service too; the refresh token does it
      // even when the access token has expired. Signed out here regardless.
      const refreshToken = stored(REFRESH_KEY);
      await request("/api/auth/logout", {
        method: "POST",
        body: refreshToken ? { refreshToken } : undefined,
        bearer: refreshToken ? undefined : token(),
      }).catch(() => {});
      forgetSession();
      location.replace(LOGIN_PAGE);
    }),
  );

  // A sensitive change (passkeys, password) after the step-up window:
  // confirm with a passkey or the password, then retry `call` once.
  async function withStepUp(call) {
    try {
      return await call();
    } catch (error) {
      if (error.code !== "REAUTHENTICATION_REQUIRED") throw error;
      if (!(await stepUp())) throw new ApiError(403, "STEP_UP_CANCELLED", MESSAGES.stepUpCancelled);
      listSessions().catch(report);
      return await call();
    }
  }

  // Shows the "Confirm it's you" dialog; resolves to whether the person
  // re-authenticated (with a passkey or the password).
  function stepUp() {
    const dialog = $("reauth");
    const form = $("reauth-form");
    const passkeyButton = $("reauth-passkey");
    const alertRegion = $("reauth-alert");
    alertRegion.replaceChildren();
    form.reset();
    // A passkey confirms only where one exists and the browser can use it.
    passkeyButton.hidden = Boolean(problem) || page.passkeys === 0;
    return new Promise((resolve) => {
      const finish = (done) => {
        passkeyButton.onclick = null;
        form.onsubmit = null;
        $("reauth-cancel").onclick = null;
        dialog.onclose = null;
        dialog.close();
        resolve(done);
      };
      const fail = (text) => {
        alertRegion.textContent = text;
      };
      const confirmWith = async (body) => {
        keepSession(await api("/api/auth/reauthenticate", { method: "POST", auth: true, body }));
        finish(true);
      };
      passkeyButton.onclick = () =>
        busy(passkeyButton, async () => {
          try {
            const options = await api("/api/auth/reauthenticate-options", { method: "POST", auth: true });
            await stopQuietRequest();
            let credential;
            try {
              credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
            } catch {
              fail(MESSAGES.signInCancelled);
              return;
            }
            await confirmWith({ credential: credentialJSON(credential) });
          } catch (error) {
            fail(error.message || "The passkey could not be verified.");
          }
        });
      form.onsubmit = (event) => {
        event.preventDefault();
        busy(form.querySelector("button[type=submit]"), async () => {
          try {
            await confirmWith({ password: form.elements.password.value });
          } catch (error) {
            fail(error.code === "INVALID_CREDENTIALS" ? MESSAGES.invalidCredentials : error.message);
          }
        });
      };
      $("reauth-cancel").onclick = () => finish(false);
      dialog.onclose = () => finish(false);
      dialog.showModal();
    });
  }

  const problem = webauthnProblem();
  if (problem) {
    showWebauthnProblem(problem);
    addButton.disabled = true;
  }

  // Lists the passkeys, then tells the password manager which are still
  // valid, so it drops the ones removed elsewhere.
  async function refresh() {
    const answer = await api("/api/auth/passkey/list", { auth: true });
    page.rpId = answer.rpId;
    page.userHandle = answer.userHandle;
    render(answer.passkeys);
    await signal("signalAllAcceptedCredentials", {
      rpId: answer.rpId,
      userId: answer.userHandle,
      allAcceptedCredentialIds: answer.passkeys.map((p) => p.credentialId),
    });
    return answer.passkeys;
  }

  function render(passkeys) {
    page.passkeys = passkeys.length;
    const template = $("passkey-template");
    list.replaceChildren(
      ...passkeys.map((passkey) => {
        const item = template.content.firstElementChild.cloneNode(true);
        const field = (name) => item.querySelector(`[data-field="${name}"]`);
        item.dataset.id = passkey.id;
        item.dataset.name = passkey.name;
        const nameId = `passkey-${passkey.id}`;
        field("name").id = nameId;
        field("name").textContent = passkey.name;
        field("synced").textContent = passkey.backedUp ? "synced" : "not synced";
        field("synced").classList.add(passkey.backedUp ? "badge-on" : "badge-off");
        field("authenticator").textContent = passkey.authenticatorName ?? "Unknown authenticator";
        field("created").replaceWith(timeElement(passkey.createdAt));
        if (passkey.lastUsedAt) field("used").replaceChildren("last used ", timeElement(passkey.lastUsedAt));
        else field("used").textContent = "last used: never";
        for (const button of item.querySelectorAll(".passkey-actions button")) {
          button.setAttribute("aria-describedby", nameId);
        }
        const inputId = `rename-${passkey.id}`;
        field("rename-label").htmlFor = inputId;
        field("rename-input").id = inputId;
        return item;
      }),
    );
    $("list-state").textContent = passkeys.length
      ? `${passkeys.length} passkey${passkeys.length === 1 ? "" : "s"}.`
      : "No passkeys yet. Add one to sign in without your password.";
  }

  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(addButton, addPasskey);
  });

  async function addPasskey() {
    clearMessages();
    try {
      // The kind of authenticator chosen ("This device", "Security key",
      // "Phone") goes to the service as a WebAuthn hint.
      const hint = addForm.elements.hint?.value;
      const options = await withStepUp(() =>
        api("/api/auth/passkey/register-options", {
          method: "POST",
          auth: true,
          body: hint ? { hints: [hint] } : {},
        }),
      );
      await stopQuietRequest();
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
      } catch (error) {
        reportWebauthn(error, "registration");
        return;
      }
      const name = $("passkey-name").value.trim();
      const { passkey } = await api("/api/auth/passkey/register", {
        method: "POST",
        auth: true,
        body: { ...(name && { name }), credential: credentialJSON(credential) },
      });
      rememberPasskey();
      addForm.reset();
      await refresh();
      showStatus(`Passkey “${passkey.name}” added.`, "You can now sign in with it.");
    } catch (error) {
      report(error);
    }
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const item = button?.closest("li");
    if (!item) return;
    const form = item.querySelector("form.rename");
    switch (button.dataset.action) {
      case "rename":
        form.hidden = false;
        form.elements[0].value = item.dataset.name;
        form.elements[0].focus();
        form.elements[0].select();
        return;
      case "cancel":
        form.hidden = true;
        item.querySelector('[data-action="rename"]').focus();
        return;
      case "remove":
        busy(button, () => removePasskey(item));
    }
  });

  list.addEventListener("keydown", (event) => {
    const form = event.target.closest("form.rename");
    if (event.key === "Escape" && form) {
      form.hidden = true;
      form.closest("li").querySelector('[data-action="rename"]').focus();
    }
  });

  list.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    busy(form.querySelector("button[type=submit]"), () => renamePasskey(form.closest("li"), form.elements[0].value.trim()));
  });

  async function renamePasskey(item, name) {
    clearMessages();
    try {
      const { passkey } = await withStepUp(() =>
        api(`/api/auth/passkey/${encodeURIComponent(item.dataset.id)}`, {
          method: "PATCH",
          auth: true,
          body: { name },
        }),
      );
      await refresh();
      if (page.user) {
        await signal("signalCurrentUserDetails", {
          rpId: page.rpId,
          userId: page.userHandle,
          name: page.user.email,
          displayName: page.user.displayName || page.user.email,
        });
      }
      showStatus(`Passkey renamed to “${passkey.name}”.`);
      list.querySelector(`li[data-id="${CSS.escape(passkey.id)}"] [data-action="rename"]`)?.focus();
    } catch (error) {
      report(error);
    }
  }

  async function removePasskey(item) {
    clearMessages();
    const name = item.dataset.name;
    try {
      await withStepUp(() =>
        api(`/api/auth/passkey/${encodeURIComponent(item.dataset.id)}`, { method: "DELETE", auth: true }),
      );
      const signalled = typeof window.PublicKeyCredential?.signalAllAcceptedCredentials === "function";
      await refresh();
      showStatus(
        `Passkey “${name}” removed from Monetro.`,
        signalled
          ? "Your browser or password manager has been asked to delete it from this device too."
          : "Also delete it from your browser or operating system's password manager (for example macOS › System Settings › Passwords › search \"monetro\" › delete).",
      );
      $("list-heading").focus();
    } catch (error) {
      report(error);
    }
  }

  // Where the person is signed in, with "End" for the other sessions.
  const sessionList = $("sessions");

  async function listSessions() {
    const { sessions } = await api("/api/auth/sessions", { auth: true });
    const template = $("session-template");
    sessionList.replaceChildren(
      ...sessions.map((session) => {
        const item = template.content.firstElementChild.cloneNode(true);
        const field = (name) => item.querySelector(`[data-field="${name}"]`);
        item.dataset.id = session.id;
        const deviceId = `session-${session.id}`;
        field("device").id = deviceId;
        field("device").textContent = deviceName(session.userAgent);
        if (!session.current) field("current").remove();
        field("method").textContent = session.method === "passkey" ? "signed in with a passkey" : "signed in with a password";
        field("created").replaceWith(timeElement(session.createdAt));
        field("seen").replaceWith(timeElement(session.lastSeenAt));
        const end = field("end");
        if (session.current) end.remove();
        else end.setAttribute("aria-describedby", deviceId);
        return item;
      }),
    );
  }

  sessionList.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-field="end"]');
    const item = button?.closest("li");
    if (!item) return;
    busy(button, async () => {
      clearMessages();
      try {
        await api(`/api/auth/sessions/${encodeURIComponent(item.dataset.id)}`, { method: "DELETE", auth: true });
        await listSessions();
        showStatus(MESSAGES.sessionEnded, MESSAGES.sessionEndedHelp);
        $("sessions-heading").focus();
      } catch (error) {
        report(error);
      }
    });
  });

  // Set a password (passkey-only accounts) or change it (the current one
  // is needed then); both need a recent sign-in like passkey changes.
  const passwordForm = $("password-form");

  function showPassword(hasPassword) {
    page.hasPassword = hasPassword;
    $("password-state").textContent = hasPassword ? MESSAGES.hasPassword : MESSAGES.noPassword;
    $("current-password-field").hidden = !hasPassword;
    passwordForm.elements.currentPassword.required = hasPassword;
    $("password-button").textContent = hasPassword ? "Change password" : "Set password";
    passwordForm.hidden = false;
  }

  passwordForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("password-button"), async () => {
      clearMessages();
      const hadPassword = page.hasPassword;
      const body = { password: passwordForm.elements.password.value };
      if (hadPassword) body.currentPassword = passwordForm.elements.currentPassword.value;
      try {
        await withStepUp(() => api("/api/auth/password", { method: "PUT", auth: true, body }));
      } catch (error) {
        if (error.code === "INVALID_CREDENTIALS") showError(MESSAGES.wrongCurrentPassword);
        else report(error);
        return;
      }
      passwordForm.reset();
      showPassword(true);
      if (hadPassword) showStatus(MESSAGES.passwordChanged);
      else showStatus(MESSAGES.passwordSet, MESSAGES.passwordSetHelp);
      $("password-heading").focus();
    });
  });

  listSessions().catch(report);

  try {
    const [me] = await Promise.all([api("/api/auth/me", { auth: true }), refresh()]);
    page.user = me.user;
    $("who").textContent = me.user.displayName ? `${me.user.displayName} (${me.user.email})` : me.user.email;
    passwordForm.elements.username.value = me.user.email;
    showPassword(me.hasPassword);
  } catch (error) {
    $("list-state").textContent = "Your passkeys could not be loaded.";
    report(error);
  }

  if (takeUpgradeOffer() && (await upgradeToPasskey())) await refresh().catch(() => {});
}

// Automatic passkey upgrade (WebAuthn conditional create), once after a
// password sign-in: where the browser says it can, its password manager
// makes a passkey for this account without a dialog. It runs here, on the
// page the sign-in leads to, so that the redirect never waits for the
// browser (which may hold a conditional request open); a modal ceremony or
// a signal ends it first. Nothing is shown whatever happens. Resolves to
// whether a passkey was added.
async function upgradeToPasskey() {
  if (webauthnProblem() || typeof PublicKeyCredential.getClientCapabilities !== "function") return false;
  let options;
  let credential;
  try {
    if (!(await PublicKeyCredential.getClientCapabilities())?.conditionalCreate) return false;
    options = (
      await api("/api/auth/passkey/register-options", {
        method: "POST",
        auth: true,
        body: { mediation: "conditional" },
      })
    ).publicKey;
    await stopQuietRequest();
    const controller = new AbortController();
    const done = navigator.credentials.create({
      mediation: "conditional",
      publicKey: creationOptions(options),
      signal: controller.signal,
    });
    quiet = { controller, done };
    try {
      credential = await done;
    } finally {
      if (quiet?.controller === controller) quiet = null;
    }
  } catch {
    return false; // Not offered, declined or ended: the password still works.
  }
  if (!credential) return false;
  try {
    await api("/api/auth/passkey/register", {
      method: "POST",
      auth: true,
      body: { credential: credentialJSON(credential) },
    });
  } catch (error) {
    // Made but refused: the password manager is told to drop it, so it is
    // not offered for a sign-in that would fail. Without an answer (the
    // service unreachable) it may have been stored, so it is kept, as is
    // one the service says it holds already.
    if (error.status >= 400 && error.status < 500 && error.code !== "PASSKEY_ALREADY_REGISTERED") {
      await signal("signalUnknownCredential", { rpId: options.rp.id, credentialId: credential.id });
    }
    return false;
  }
  rememberPasskey();
  return true;
}

// A short name for the device of a User-Agent: "Chrome on Linux".
function deviceName(userAgent) {
  if (!userAgent) return "Unknown device";
  const browsers = [
    [/Edg\//, "Edge"],
    [/OPR\//, "Opera"],
    [/Firefox\//, "Firefox"],
    [/Chrom(e|ium)\//, "Chrome"],
    [/Safari\//, "Safari"],
  ];
  const systems = [
    [/Windows/, "Windows"],
    [/iPhone|iPad|iPod/, "iOS"],
    [/Mac OS X|Macintosh/, "macOS"],
    [/Android/, "Android"],
    [/CrOS/, "ChromeOS"],
    [/Linux/, "Linux"],
  ];
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 40);
}

// ---------------------------------------------------------------- start

const pages = { login: loginPage, signup: signupPage, passkeys: passkeysPage };
pages[document.body.dataset.page]?.();
