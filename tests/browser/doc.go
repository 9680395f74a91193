// Package browser holds the end-to-end test of the lockstep demo page
// (examples/lockstep/web): a lockstep server in this process on loopback
// ports, three Go bots (package client) and the page in headless Chromium
// (chromedp) play one room, and the test checks the page agrees with the
// bots on every state hash, resumes its seat after a reload, and gets its
// inputs into frames within a tick. It needs Debian's chromium
// (/usr/bin/chromium); without it the test is skipped, or fails when
// CI=true.
package browser
