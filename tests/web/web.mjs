// End-to-end test of the web page: headless Chromium (Debian's, driven by
// playwright-core) against a running Tessera server, doing what a
// credential manager does to rotate a secret, and checking that another
// organisation's manager sees nothing of it and that an admin can create
// organisations, applications and users, and is told in plain words beside
// the field what is wrong with a refused form (checked with axe-core).
//
// Environment (set by run.sh): BASE_URL; CLIENT_ID, APP_NAME, OLD_SECRET
// (the application's secret before rotation); MANAGER_*, OTHER_* and
// ADMIN_* (EMAIL, PASSWORD, TOTP_URI); OTHER_CLIENT_ID; SCREENSHOTS (a
// folder); CHROMIUM (default /usr/bin/chromium).
//
// Prints one line per check and `web: N passed, M failed` last; exits
// non-zero if any check failed. Never prints a secret, password or code.

import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as OTPAuth from 'otpauth';

// axe-core, evaluated in the page through the DevTools protocol (as
// @axe-core/playwright does), which the page's CSP does not govern.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`web.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
};

const BASE = env('BASE_URL');
const CLIENT_ID = env('CLIENT_ID');
const APP_NAME = env('APP_NAME');
const OLD_SECRET = env('OLD_SECRET');
const OTHER_CLIENT_ID = env('OTHER_CLIENT_ID');
const SHOTS = env('SCREENSHOTS');
const user = (prefix) => ({
  email: env(`${prefix}_EMAIL`),
  password: env(`${prefix}_PASSWORD`),
  totp: OTPAuth.URI.parse(env(`${prefix}_TOTP_URI`)),
});
const MANAGER = user('MANAGER');
const OTHER = user('OTHER');
const ADMIN = user('ADMIN');
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
let failed = 0;
// Checks of one scenario depend on the ones before: after a failure, the
// rest of that scenario is reported as skipped (and counted as failed).
let broken = false;

async function check(name, fn) {
  if (broken) {
    failed += 1;
    console.log(`SKIPPED ${name} (an earlier step failed)`);
    return;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok      ${name}`);
  } catch (err) {
    failed += 1;
    broken = true;
    console.log(`FAILED  ${name}`);
    console.log(`        ${String(err?.message ?? err).split('\n').slice(0, 6).join('\n        ')}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/** A token request with HTTP Basic (RFC 6749 §2.3.1 encoding). */
async function tokenStatus(clientId, secret) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const response = await fetch(`${BASE}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return response.status;
}

/** A fresh browser context; every request it makes is checked to be local. */
async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await context.newPage();
  page.problems = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(BASE)) page.problems.push(`external request: ${request.url()}`);
  });
  // CSP violations and script errors show up here.
  page.on('console', (message) => {
    // A 401 or 404 page is logged as a failed load: expected where tested.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      page.problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  return page;
}

async function signIn(page, who, code = who.totp.generate()) {
  await page.goto(`${BASE}/`);
  assert(page.url() === `${BASE}/sign-in`, `/ should lead to the sign-in page, got ${page.url()}`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Code from your authenticator app').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

const clipboard = (page) => page.evaluate(() => navigator.clipboard.readText());

/** The page's accessibility violations (WCAG 2.x A and AA), one line each. */
async function axeViolations(page) {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const results = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return results.violations.map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
}

/**
 * The field `field` (a locator) is marked invalid and described first by a
 * message just before it (between its label and the field) saying
 * `message`; the page reads in plain words and passes axe.
 */
async function assertRefusedBeside(page, field, message) {
  const label = `#${await field.evaluate((el) => el.id)}`;
  assert((await field.getAttribute('aria-invalid')) === 'true', `${label}: not marked aria-invalid`);
  const shown = await field.evaluate((el) => {
    const id = (el.getAttribute('aria-describedby') ?? '').split(' ')[0];
    const described = id ? document.getElementById(id) : null;
    const before = el.tagName === 'FIELDSET' ? el.querySelector('legend')?.nextElementSibling : el.previousElementSibling;
    return described && described === before ? described.textContent : null;
  });
  assert(shown === message, `${label}: the message beside it is ${JSON.stringify(shown)}, not ${JSON.stringify(message)}`);
  const text = await page.locator('main').innerText();
  assert(!text.includes('`') && !/\b[a-z]+_[a-z_]+\b/.test(text), 'API wording (backticks, snake_case) on the page');
  const violations = await axeViolations(page);
  assert(violations.length === 0, `axe: ${violations.join('; ')}`);
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  // Root in CI containers cannot use Chromium's sandbox.
  args: ['--no-sandbox'],
});

try {
  // ------------------------------------------------------------------------
  // The rotation workflow of a credential manager.
  const page = await newPage(browser);
  let newSecret = '';

  await check('the old secret gets a token (a partner system in use)', async () => {
    assert((await tokenStatus(CLIENT_ID, OLD_SECRET)) === 200, 'old secret refused');
  });

  await check('a wrong code is refused with a clear message', async () => {
    await signIn(page, MANAGER, '000000');
    await page.getByText('Wrong email, password or code.').waitFor();
    assert(page.url() === `${BASE}/sign-in`, `stayed on the sign-in page, got ${page.url()}`);
    await screenshot(page, 'sign-in-refused');
  });

  await check('sign in with email, password and TOTP code', async () => {
    await signIn(page, MANAGER);
    assert(page.url() === `${BASE}/applications`, `expected /applications, got ${page.url()}`);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'tessera_session');
    assert(session && session.httpOnly && session.sameSite === 'Strict', 'HttpOnly, SameSite=Strict session cookie');
    assert(await page.evaluate(() => !document.cookie.includes('tessera_session')), 'scripts cannot read the session');
  });

  await check('the applications page lists the application with its permissions', async () => {
    const card = page.locator(`section[data-client-id="${CLIENT_ID}"]`);
    await card.getByRole('link', { name: APP_NAME }).waitFor();
    const text = await card.innerText();
    assert(text.includes('Production') && text.includes('Sandbox'), 'permissions by environment');
    assert(text.includes('Search and Match sandbox'), 'the sandbox permission is listed');
    await screenshot(page, 'applications');
  });

  await check('the client_id is copied with one click', async () => {
    await page.getByRole('button', { name: `Copy the client_id of ${APP_NAME}` }).click();
    assert((await clipboard(page)) === CLIENT_ID, 'clipboard holds the client_id');
  });

  await check('the application page shows its secrets', async () => {
    await page.getByRole('link', { name: APP_NAME }).click();
    await page.waitForURL(`${BASE}/applications/${CLIENT_ID}`);
    const row = page.locator('tr[data-secret-name="Old secret"]');
    const text = await row.innerText();
    assert(text.includes(OLD_SECRET.slice(0, 3)), 'the hint (first three characters)');
    assert(text.includes('cli'), 'created by');
    await screenshot(page, 'application');
  });

  await check('"Create new secret" opens a dialog with the keyboard; Escape closes it', async () => {
    await page.getByRole('link', { name: 'Create new secret' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#create-secret-dialog');
    await dialog.waitFor({ state: 'visible' });
    assert(await page.evaluate(() => document.activeElement?.id === 'secret-name'), 'focus moves into the dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  await check('create a secret in the dialog (default expiry one year ahead)', async () => {
    await page.getByRole('link', { name: 'Create new secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create new secret' });
    await dialog.getByLabel('Name').fill('Secret by browser test');
    const expires = await dialog.getByLabel('Expires on (UTC)').inputValue();
    const days = (Date.parse(`${expires}T00:00:00Z`) - Date.now()) / 86400000;
    assert(days > 363 && days < 367, `default expiry ${expires} is a year ahead`);
    await screenshot(page, 'create-secret-dialog');
    await dialog.getByRole('button', { name: 'Create secret' }).click();
    await page.getByText('it will not be shown again').waitFor();
    assert(page.url() === `${BASE}/applications/${CLIENT_ID}`, `the address is the application's, got ${page.url()}`);
  });

  await check('the new secret is copied with the copy button', async () => {
    await page.getByRole('button', { name: 'Copy the new client secret' }).click();
    newSecret = await clipboard(page);
    assert(newSecret.length >= 43, 'a 256-bit secret on the clipboard');
    assert(newSecret === (await page.getByRole('textbox', { name: 'Client secret' }).inputValue()), 'the shown value');
    await screenshot(page, 'secret-shown-once');
  });

  await check('the copied secret gets a token', async () => {
    assert((await tokenStatus(CLIENT_ID, newSecret)) === 200, 'new secret refused');
  });

  await check('a reload never shows the secret again, nor creates another', async () => {
    await page.reload();
    const html = await page.content();
    assert(!html.includes(newSecret), 'the secret is on the reloaded page');
    assert((await page.locator('#new-secret').count()) === 0, 'no one-time section');
    assert((await page.locator('tr[data-secret-name="Secret by browser test"]').count()) === 1, 'exactly one new secret');
  });

  await check('"last used" of the new secret appears', async () => {
    const cell = page.locator('tr[data-secret-name="Secret by browser test"] td.last-used');
    for (let i = 0; i < 30; i += 1) {
      if (!(await cell.innerText()).includes('never')) break;
      await page.waitForTimeout(500);
      await page.reload();
    }
    assert(!(await cell.innerText()).includes('never'), 'last used still "never"');
    await screenshot(page, 'last-used');
  });

  await check('deleting the old secret asks for confirmation and warns it is in use', async () => {
    await page.getByRole('link', { name: 'Delete “Old secret”' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete secret' }).filter({ visible: true });
    const text = await dialog.innerText();
    assert(text.includes('“Old secret”'), 'the confirmation names the secret');
    assert(text.includes('Systems that use it will stop working immediately'), 'the recent-use warning');
    await screenshot(page, 'delete-confirmation');
    await dialog.getByRole('button', { name: 'Delete “Old secret”' }).click();
    await page.getByText('The secret was deleted.').waitFor();
    assert((await page.locator('tr[data-secret-name="Old secret"]').count()) === 0, 'the row is gone');
    await screenshot(page, 'deleted');
  });

  await check('the token endpoint refuses the deleted secret, the new one still works', async () => {
    assert((await tokenStatus(CLIENT_ID, OLD_SECRET)) === 401, 'old secret still accepted');
    assert((await tokenStatus(CLIENT_ID, newSecret)) === 200, 'new secret refused');
  });

  await check('after a reload and Back, the secret is nowhere in the page', async () => {
    await page.reload();
    assert(!(await page.content()).includes(newSecret), 'secret on the page after reload');
    await page.goBack();
    await page.waitForLoadState();
    assert(!(await page.content()).includes(newSecret), 'secret on the page after Back');
  });

  await check('the page fits a phone screen', async () => {
    await page.goto(`${BASE}/applications/${CLIENT_ID}`);
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await screenshot(page, 'application-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    await page.goto(`${BASE}/applications`);
    assert(page.url() === `${BASE}/sign-in`, 'signed out for good');
  });

  await check('no external request, script error or CSP violation', async () => {
    assert(page.problems.length === 0, page.problems.join('; '));
  });

  // ------------------------------------------------------------------------
  // A manager of another organisation.
  broken = false;
  const other = await newPage(browser);
  await check('another organisation\'s manager signs in and sees only their application', async () => {
    await signIn(other, OTHER);
    assert(other.url() === `${BASE}/applications`, `expected /applications, got ${other.url()}`);
    const html = await other.content();
    assert(html.includes(OTHER_CLIENT_ID), 'their own application');
    assert(!html.includes(CLIENT_ID) && !html.includes(APP_NAME), 'the first organisation\'s application');
    await screenshot(other, 'other-organisation');
  });
  await check('the first organisation\'s application answers 404 to them', async () => {
    const response = await other.goto(`${BASE}/applications/${CLIENT_ID}`);
    assert(response.status() === 404, `status ${response.status()}`);
    assert(!(await other.content()).includes(APP_NAME), 'the name leaks');
    await screenshot(other, 'not-found');
  });

  // ------------------------------------------------------------------------
  // An admin.
  broken = false;
  const admin = await newPage(browser);
  await check('an admin sees every organisation', async () => {
    await signIn(admin, ADMIN);
    await admin.getByRole('link', { name: 'Organisations' }).click();
    await admin.waitForURL(`${BASE}/organisations`);
    const text = await admin.locator('table.organisations').innerText();
    assert(text.includes('BrowserTestOrg') && text.includes('OtherTestOrg'), 'both organisations');
    await screenshot(admin, 'organisations');
  });
  await check('an admin creates an organisation', async () => {
    await admin.getByLabel('Name (letters and digits)').fill('CreatedInBrowser');
    await admin.getByLabel('Country (ISO 3166-1 alpha-2, such as NL)').fill('BE');
    await admin.getByRole('button', { name: 'Create organisation' }).click();
    await admin.getByText('Organisation created.').waitFor();
    assert((await admin.locator('table.organisations').innerText()).includes('CreatedInBrowser'), 'listed');
  });
  await check('an admin creates an application', async () => {
    await admin.getByLabel('Organisation', { exact: true }).selectOption({ label: 'CreatedInBrowser (BE)' });
    await admin.getByLabel('API (2 to 5 capital letters, such as SMC)').fill('SMC');
    await admin.getByLabel('Search and Match sandbox').check();
    await admin.getByRole('button', { name: 'Create application' }).click();
    await admin.getByText('Application created.').waitFor();
    await admin.getByRole('heading', { name: 'Partner-BE-CreatedInBrowser-SMC' }).waitFor();
    await screenshot(admin, 'application-created');
  });
  await check('an admin creates a user, whose password and TOTP URI are shown once', async () => {
    await admin.goto(`${BASE}/organisations`);
    await admin.getByLabel('Email').fill('browser.manager@example.org');
    await admin.getByLabel('Organisation (credential managers)').selectOption({ label: 'CreatedInBrowser' });
    await admin.getByRole('button', { name: 'Create user' }).click();
    const uri = await admin.getByRole('textbox', { name: 'TOTP URI' }).inputValue();
    assert(uri.startsWith('otpauth://totp/'), 'a TOTP URI');
    const password = await admin.getByRole('textbox', { name: 'Initial password' }).inputValue();
    await screenshot(admin, 'user-created');
    await admin.reload();
    const html = await admin.content();
    assert(!html.includes(password) && !html.includes(uri), 'shown again after a reload');
    assert(admin.url() === `${BASE}/organisations`, `reload shows the organisations, got ${admin.url()}`);
  });
  await check('a refused organisation says why beside the country, keeps the name, and passes axe', async () => {
    await admin.goto(`${BASE}/organisations`);
    await admin.getByLabel('Name (letters and digits)').fill('RefusedInBrowser');
    await admin.getByLabel('Country (ISO 3166-1 alpha-2, such as NL)').fill('ZZ');
    await admin.getByRole('button', { name: 'Create organisation' }).click();
    await admin.waitForLoadState();
    const country = admin.getByLabel('Country (ISO 3166-1 alpha-2, such as NL)');
    await assertRefusedBeside(admin, country, 'Use a two-letter country code, such as NL.');
    assert((await admin.getByLabel('Name (letters and digits)').inputValue()) === 'RefusedInBrowser', 'the name typed is kept');
    assert(await admin.evaluate(() => document.activeElement?.id === 'org-country'), 'focus is on the refused field');
    assert(!(await admin.locator('table.organisations').innerText()).includes('RefusedInBrowser'), 'nothing was created');
    await screenshot(admin, 'organisation-refused');
  });
  await check('a refused application says why beside the permissions, keeps what was chosen, and passes axe', async () => {
    await admin.goto(`${BASE}/organisations`);
    await admin.getByLabel('Organisation', { exact: true }).selectOption({ label: 'BrowserTestOrg (NL)' });
    await admin.getByLabel('API (2 to 5 capital letters, such as SMC)').fill('MC');
    await admin.getByLabel('Kind').selectOption('partner-alternative');
    await admin.getByLabel('Search and Match sandbox').check();
    await admin.getByRole('button', { name: 'Create application' }).click();
    await admin.waitForLoadState();
    const permissions = admin.getByRole('group', { name: 'Permissions' });
    await assertRefusedBeside(admin, permissions, 'A partner-alternative application may hold only Match-Connect sandbox.');
    assert((await admin.getByLabel('API (2 to 5 capital letters, such as SMC)').inputValue()) === 'MC', 'the API typed is kept');
    assert((await admin.getByLabel('Kind').inputValue()) === 'partner-alternative', 'the kind chosen is kept');
    assert((await admin.getByLabel('Organisation', { exact: true }).inputValue()) !== '', 'an organisation is chosen');
    assert(
      (await admin.getByLabel('Organisation', { exact: true }).locator('option:checked').innerText()) === 'BrowserTestOrg (NL)',
      'the organisation chosen is kept',
    );
    assert(await admin.getByLabel('Search and Match sandbox').isChecked(), 'the permission checked is kept');
    await screenshot(admin, 'application-refused');
  });
  await check('a resource server is made from the admin form, without permissions', async () => {
    await admin.goto(`${BASE}/organisations`);
    await admin.getByLabel('Organisation', { exact: true }).selectOption({ label: 'BrowserTestOrg (NL)' });
    await admin.getByLabel('API (2 to 5 capital letters, such as SMC)').fill('RS');
    await admin.getByLabel('Kind').selectOption('resource-server');
    await admin.getByLabel('Search and Match sandbox').check();
    await admin.getByRole('button', { name: 'Create application' }).click();
    await admin.waitForLoadState();
    const permissions = admin.getByRole('group', { name: 'Permissions' });
    await assertRefusedBeside(admin, permissions, 'A resource server holds no permissions: leave them all unticked.');
    assert((await admin.getByLabel('Kind').inputValue()) === 'resource-server', 'the kind chosen is kept');
    await admin.getByLabel('Search and Match sandbox').uncheck();
    await admin.getByRole('button', { name: 'Create application' }).click();
    await admin.waitForLoadState();
    assert(admin.url().includes('notice=application-created'), `created, got ${admin.url()}`);
    const page = await admin.content();
    assert(page.includes('ResourceServer-NL-BrowserTestOrg-RS'), 'the derived name is shown');
    assert(page.includes('resource-server'), 'the kind is shown');
  });
  await check('no external request, script error or CSP violation (other pages)', async () => {
    const problems = [...other.problems, ...admin.problems];
    assert(problems.length === 0, problems.join('; '));
  });
} finally {
  await browser.close();
}

console.log(`web: screenshots in ${SHOTS}`);
console.log(`web: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
