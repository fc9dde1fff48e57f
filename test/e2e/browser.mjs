// Launches Debian's headless Chromium for the e2e suites, with the flags this offline machine needs
// (no background networking, no GPU, a fresh profile under `parent`).
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium } from "playwright-core";

export async function launchBrowser(parent) {
  const profile = fs.mkdtempSync(path.join(process.env.PROFILE_PARENT ?? parent, "chrome-profile-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return { ctx, page, profile };
}
