// The annotator's page in a real browser (Playwright on Debian's chromium), driven by
// tests/python/test_annotate_browser.py, which starts the server and checks the files on disk.
// Argument: a JSON object {url, chromium, first: {file, click: [x, y], prefilled: [[x, y], ...]},
// second: {file}}. It clicks on an object of the first image and checks that a mask appears
// that contains the clicked pixel (in the page's state and on the canvas), deletes a pre-filled
// mask, accepts the image (saved, next), marks the second image "no chicken", and prints what
// the page holds as one JSON line. Any failed check exits 1 with the reason.
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);

function fail(message) {
  console.error("annotate_page: " + message);
  process.exit(1);
}

function insidePolygon(p, x, y) {
  let inside = false;
  for (let i = 0, j = p.length - 2; i + 1 < p.length; j = i, i += 2) {
    const xi = p[i], yi = p[i + 1], xj = p[j], yj = p[j + 1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const state = (page) => page.evaluate(() => window.annotator.state());

// Waits until the page's state satisfies `ok` and no request is in flight.
async function until(page, ok, what) {
  for (let i = 0; i < 200; ++i) {
    const busy = await page.evaluate(() => document.body.dataset.busy);
    const s = await state(page);
    if (busy !== "1" && ok(s)) return s;
    await page.waitForTimeout(50);
  }
  const status = await page.textContent("#status");
  fail(`timed out waiting for ${what} (status: ${status})`);
}

// Clicks the canvas on image pixel (x, y) (its centre).
async function clickPixel(page, x, y, modifiers = []) {
  const box = await page.locator("#canvas").boundingBox();
  const s = await state(page);
  const image = await page.evaluate(() => [document.getElementById("canvas").width, document.getElementById("canvas").height]);
  const px = box.x + ((x + 0.5) * s.scale * box.width) / image[0];
  const py = box.y + ((y + 0.5) * s.scale * box.height) / image[1];
  await page.mouse.click(px, py, { modifiers });
}

// The canvas pixel over image pixel (x, y), as [r, g, b].
function canvasPixel(page, x, y) {
  return page.evaluate(([x, y]) => {
    const c = document.getElementById("canvas");
    const s = window.annotator.state();
    return Array.from(c.getContext("2d").getImageData(Math.floor((x + 0.5) * s.scale), Math.floor((y + 0.5) * s.scale), 1, 1).data.slice(0, 3));
  }, [x, y]);
}

const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => {
    if (!r.url().startsWith(new URL(config.url).origin)) errors.push("request outside the server: " + r.url());
  });
  await page.goto(config.url);
  let s = await until(page, (s) => s.file === config.first.file, "the first image");
  const prefilled = s.shapes.length;
  if (prefilled !== config.first.prefilled.length) fail(`expected ${config.first.prefilled.length} pre-filled masks, found ${prefilled}`);

  // Click on the object: a new mask containing the clicked pixel.
  const [cx, cy] = config.first.click;
  const before = await canvasPixel(page, cx, cy);
  await clickPixel(page, cx, cy);
  s = await until(page, (s) => s.shapes.length === prefilled + 1, "the clicked mask");
  const added = s.shapes[s.shapes.length - 1];
  if (!added.polygons.some((p) => insidePolygon(p, cx + 0.5, cy + 0.5))) fail("the new mask does not contain the clicked pixel");
  const after = await canvasPixel(page, cx, cy);
  if (before.every((v, i) => v === after[i])) fail(`the canvas did not change at the clicked pixel (${before})`);

  // Delete a pre-filled mask: select it with a click, then the Delete key.
  const [dx, dy] = config.first.prefilled[0];
  await clickPixel(page, dx, dy);
  s = await until(page, (s) => s.selected >= 0 && s.selected < prefilled, "the pre-filled mask selected");
  await page.keyboard.press("Delete");
  s = await until(page, (s) => s.shapes.length === prefilled, "the mask deleted");
  // Undo brings it back, delete again: the undo works and the end state is the same.
  await page.keyboard.press("z");
  s = await until(page, (s) => s.shapes.length === prefilled + 1, "the undo");
  await clickPixel(page, dx, dy);
  s = await until(page, (s) => s.selected >= 0 && s.selected < prefilled, "the pre-filled mask selected again");
  await page.click("#delete");
  const firstShapes = (await until(page, (s) => s.shapes.length === prefilled, "the mask deleted again")).shapes;

  // Accept (a): saved, and the page goes to the next image.
  await page.keyboard.press("a");
  s = await until(page, (s) => s.file === config.second.file, "the second image after accept");
  const progressAfterAccept = await page.textContent("#progress");

  // No chicken (n) on the second image.
  await page.keyboard.press("n");
  s = await until(page, (s) => s.images.find((im) => im.file === config.second.file).negative, "no chicken saved");
  const progress = await page.textContent("#progress");
  if (errors.length) fail(errors.join("; "));
  console.log(JSON.stringify({ first_shapes: firstShapes, progress_after_accept: progressAfterAccept, progress,
                               images: s.images }));
} finally {
  await browser.close();
}
