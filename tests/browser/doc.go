// Package browser holds the end-to-end test of the lockstep demo page
// (examples/lockstep/web): a lockstep server in this process on loopback
// ports, three Go bots (package client) and the page in headless Chromium
// (chromedp) play one room, and the test checks the page agrees with the
// bots on every state hash, resumes its seat after a reload, and gets its
// inputs into frames within a tick: its input→frame p99 within one tick +
// 10 ms, or within 10 ms of the bots' own p99 in the same room when the
// machine is slow, judged once more over a second window after a breach.
// It needs Debian's chromium
// (/usr/bin/chromium); without it the test is skipped, or fails when
// CI=true.
package browser
