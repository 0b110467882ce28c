import type { CDPSession, Page } from "playwright-core";

/**
 * Everything a page received: bodies of its HTTP responses and the frames of its server-sent
 * events, read from Chromium's own network log (DevTools protocol), so nothing the page's script
 * does can hide a byte from the test.
 */
export class PageTraffic {
  readonly bodies: string[] = [];
  readonly frames: string[] = [];
  readonly urls: string[] = [];
  readonly problems: string[] = [];
  private readonly reads: Array<Promise<void>> = [];

  private constructor(private readonly cdp: CDPSession) {}

  static async watch(page: Page): Promise<PageTraffic> {
    const cdp = await page.context().newCDPSession(page);
    const traffic = new PageTraffic(cdp);
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") traffic.problems.push(m.text());
    });
    page.on("pageerror", (e) => traffic.problems.push(e.message));
    cdp.on("Network.eventSourceMessageReceived", (event) => traffic.frames.push(event.data));
    cdp.on("Network.loadingFinished", (event) => {
      traffic.reads.push(
        cdp
          .send("Network.getResponseBody", { requestId: event.requestId })
          .then((body) => {
            traffic.bodies.push(
              body.base64Encoded ? Buffer.from(body.body, "base64").toString("latin1") : body.body,
            );
          })
          .catch(() => {}),
      );
    });
    cdp.on("Network.requestWillBeSent", (event) => traffic.urls.push(event.request.url));
    await cdp.send("Network.enable");
    return traffic;
  }

  /** Every byte seen so far, once the bodies being read are in. */
  async text(): Promise<string> {
    await Promise.all(this.reads);
    return [...this.bodies, ...this.frames].join("\n");
  }

  detach(): Promise<void> {
    return this.cdp.detach();
  }
}
