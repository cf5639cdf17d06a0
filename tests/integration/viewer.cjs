// SPDX-License-Identifier: MIT
// viewer.cjs URL: open URL in Debian's Chromium through playwright-core,
// wait (60 s at most) until the page sets window.vlDone, print the page's
// #result text. $VL_NODE_MODULES is where npm installed playwright-core;
// $CHROMIUM the browser; $SHOT, if set, a PNG screenshot path.
const path = require("path");
const { chromium } = require(path.join(process.env.VL_NODE_MODULES,
                                       "playwright-core"));

(async () => {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"],
    });
    try {
        const page = await browser.newPage({ viewport: { width: 820, height: 700 } });
        await page.goto(process.argv[2]);
        try {
            await page.waitForFunction(() => window.vlDone === true, null,
                                       { timeout: 60000, polling: 100 });
        } catch (e) {
            console.error("viewer did not finish within 60 s");
        }
        if (process.env.SHOT) {
            await page.screenshot({ path: process.env.SHOT });
        }
        console.log(await page.evaluate(
            () => document.getElementById("result").textContent));
    } finally {
        await browser.close();
    }
})().catch((e) => { console.error(String(e)); process.exit(1); });
