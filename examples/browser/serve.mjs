// Serves this example page, with the `ismld` package mapped at /ismld/, on 127.0.0.1.
//   node examples/browser/serve.mjs [port]   (default 8788)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json" };

/** The installed package's directory (node_modules/ismld), or this repository's js/. */
function packageDir() {
  try {
    return dirname(createRequire(import.meta.url).resolve("ismld/package.json"));
  } catch {
    return join(here, "..", "..", "js");
  }
}

/** Starts the server; resolves to its URL. */
export function serve(port = 8788, pkg = packageDir(), root = here) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const [base, rel] = path.startsWith("/ismld/") ? [pkg, path.slice(7)] : [root, path === "/" ? "index.html" : path.slice(1)];
    const file = normalize(join(base, rel));
    if (!file.startsWith(base)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() })),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await serve(Number(process.argv[2] ?? 8788));
  console.log(`example page: ${url}/?url=http://127.0.0.1:8787&token=<your token>`);
}
