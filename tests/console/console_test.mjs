// tests/console/console_test.mjs - the web console in a real headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
//   node console_test.mjs ENDPOINT ADMIN_AK ADMIN_SK OUT_DIR
// Checks: a wrong password is refused (and sets no cookie); the right one
// logs in with a session cookie that is HttpOnly, SameSite=Strict, scoped
// to /console, expiring, and Secure over HTTPS; nothing lands in local or
// session storage; a tenant created in the page is listed, with the quota
// set in the page; a key created in the page shows its secret once, and
// after the dialog closes the secret is in neither the page nor any later
// response; the charts draw;
// a key revoked in the page disappears; the API refuses changes without
// the CSRF header, from another site, and without the session; logout
// ends the session.
// Screenshots go to OUT_DIR. Exit 0 when everything held.
import { chromium } from "playwright-core";

const [endpoint, adminAk, adminSk, outDir] = process.argv.slice(2);
const https = endpoint.startsWith("https:");
const failures = [];
function check(cond, what) {
  console.log((cond ? "ok   " : "FAIL ") + what);
  if (!cond) failures.push(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"],
  timeout: 60000,
});
let exitCode = 1;
try {
  const context = await browser.newContext({ignoreHTTPSErrors: true,
                                            viewport: {width: 1280, height: 1100}});
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const bodies = [];                       // every API response after the secret
  let recording = false;
  page.on("response", async (resp) => {
    if (recording && resp.url().includes("/console/api/")) {
      try { bodies.push(await resp.text()); } catch (e) { /* redirect, no body */ }
    }
  });
  const consoleErrors = [];
  // refused requests log "Failed to load resource": those the test causes
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
      consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  await page.goto(endpoint + "/console/");
  await page.waitForSelector("#login-form", {state: "visible"});

  // wrong password
  await page.fill("#login-ak", adminAk);
  await page.fill("#login-sk", "not-the-secret-at-all");
  await page.click("#login-submit");
  await page.waitForFunction(() => document.getElementById("login-error").textContent !== "");
  check((await page.textContent("#login-error")).includes("wrong"), "a wrong password is refused");
  check(await page.isVisible("#login-form"), "refused: the login form stays");
  check((await context.cookies()).length === 0, "refused: no cookie is set");
  check(await page.inputValue("#login-sk") === "", "the secret field is cleared after submit");

  // right password
  await page.fill("#login-sk", adminSk);
  await page.click("#login-submit");
  await page.waitForSelector("#dash-view", {state: "visible"});
  await page.waitForSelector("#disks tbody tr");
  const cookies = await context.cookies();
  const c = cookies.find((x) => x.name === "coffer_console");
  check(!!c, "logged in: a session cookie is set");
  check(c && c.httpOnly, "the cookie is HttpOnly");
  check(c && c.sameSite === "Strict", "the cookie is SameSite=Strict");
  check(c && c.path === "/console", "the cookie is scoped to /console");
  const left = c ? c.expires - Date.now() / 1000 : 0;
  check(c && left > 3600 && left <= 8 * 3600 + 60, "the cookie expires (within 8 hours)");
  check(c && c.secure === https, "the cookie is Secure exactly over HTTPS");
  check(await page.evaluate(() => document.cookie) === "", "page scripts cannot read the cookie");
  check(await page.evaluate(() => localStorage.length + sessionStorage.length) === 0,
        "nothing in local or session storage");
  check(!(await page.content()).includes(adminSk), "the admin secret is not in the page");
  check((await page.locator("#disks tbody tr").count()) === 6, "six disks are listed");

  // create a tenant
  await page.fill("#tenant-name", "webtenant");
  await page.click("#tenant-form button");
  await page.waitForSelector('#tenants tr[data-tenant="webtenant"]');
  check(true, "a tenant created in the page is listed");

  // set its quota: the tenants table shows usage against it
  await page.selectOption("#quota-tenant", "webtenant");
  await page.fill("#quota-bytes", "1G");
  await page.fill("#quota-objects", "100");
  await page.click("#quota-form button");
  await page.waitForSelector('#tenants tr[data-tenant="webtenant"] td:has-text("of 1.0 GiB")');
  const quotaCell = await page.textContent('#tenants tr[data-tenant="webtenant"] td:nth-child(5)');
  check(quotaCell === "0 B of 1.0 GiB, 0 of 100 objects", "a quota set in the page is shown");

  // create a key: the secret is shown once
  await page.selectOption("#key-tenant", "webtenant");
  const created = page.waitForResponse((r) => r.url().endsWith("/admin/keys") &&
                                              r.request().method() === "POST");
  await page.click("#key-form button");
  const reply = await (await created).json();
  await page.waitForSelector("#secret-dialog", {state: "visible"});
  const shown = await page.textContent("#secret-sk");
  check(shown === reply.secret_key && shown.length >= 16, "the new secret is shown");
  check((await page.textContent("#secret-ak")) === reply.access_key, "with its access key");
  await page.screenshot({path: outDir + "/console-secret.png"});
  recording = true;
  await page.click("#secret-done");
  await page.waitForSelector("#secret-dialog", {state: "hidden"});
  await page.waitForSelector(`#keys tr[data-key="${reply.access_key}"]`);
  check(!(await page.content()).includes(reply.secret_key), "closed: the secret left the page");
  check(await page.evaluate(() => localStorage.length + sessionStorage.length) === 0,
        "still nothing in local or session storage");

  // a reload keeps the session and never shows the secret again
  await page.reload();
  await page.waitForSelector(`#keys tr[data-key="${reply.access_key}"]`);
  await page.waitForSelector('#tenants tr[data-tenant="webtenant"]');
  await page.waitForTimeout(500);
  check(!(await page.content()).includes(reply.secret_key), "after a reload: no secret");
  check(bodies.length > 0 && bodies.every((b) => !b.includes(reply.secret_key)),
        "no later API response holds the secret");
  // the charts draw from the server's samples (one every 10 s, plus now)
  await page.waitForSelector("#chart-capacity path.line", {state: "attached"});
  check(true, "the capacity chart draws");
  await page.waitForSelector("#chart-requests path.line", {state: "attached", timeout: 40000});
  check(true, "the request rate chart draws");
  await page.screenshot({path: outDir + "/console.png", fullPage: true});

  // the API's guards, from the page's own origin
  const guard = await page.evaluate(async () => {
    const post = (headers) => fetch("/console/api/admin/tenants", {
      method: "POST", headers: Object.assign({"Content-Type": "application/json"}, headers),
      body: JSON.stringify({name: "csrfprobe"})}).then((r) => r.status);
    return {noToken: await post({}), badToken: await post({"X-Coffer-CSRF": "0".repeat(64)})};
  });
  check(guard.noToken === 403, "a POST without the CSRF header is refused");
  check(guard.badToken === 403, "a POST with a wrong CSRF header is refused");
  const cookie = (await context.cookies()).find((x) => x.name === "coffer_console").value;
  const csrf = (await (await page.request.get(endpoint + "/console/api/session")).json()).csrf;
  const cross = await page.request.post(endpoint + "/console/api/admin/tenants", {
    headers: {"X-Coffer-CSRF": csrf, "Sec-Fetch-Site": "cross-site",
              "Content-Type": "application/json", "Cookie": "coffer_console=" + cookie},
    data: JSON.stringify({name: "crossprobe"})});
  check(cross.status() === 403, "a cross-site POST is refused even with the token");
  const names = (await (await page.request.get(endpoint + "/console/api/admin/tenants"))
                 .json()).tenants.map((t) => t.name);
  check(!names.includes("csrfprobe") && !names.includes("crossprobe"),
        "the refused POSTs created nothing");

  // revoke the key in the page
  await page.click(`#keys tr[data-key="${reply.access_key}"] button`);
  await page.waitForSelector(`#keys tr[data-key="${reply.access_key}"]`, {state: "detached"});
  check(true, "a key revoked in the page is gone from the list");

  // logout ends the session on the server too
  await page.click("#logout");
  await page.waitForSelector("#login-form", {state: "visible"});
  const after = await page.request.get(endpoint + "/console/api/session",
                                       {headers: {Cookie: "coffer_console=" + cookie}});
  check(after.status() === 401, "after logout the old cookie is refused");
  check(consoleErrors.length === 0, "no script errors: " + consoleErrors.join("; "));
  exitCode = failures.length ? 1 : 0;
} catch (e) {
  console.log("FAIL " + (e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
console.log(failures.length ? `console test: ${failures.length} checks failed` :
            "console test: all checks passed");
process.exit(exitCode);
