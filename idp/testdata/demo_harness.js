// Runs the demo page's script under Node with a minimal DOM, against a
// live service, and prints the page state as JSON lines every 100 ms.
// Usage: NODE_EXTRA_CA_CERTS=root.pem node demo_harness.js BASEURL SCRIPT
"use strict";
const base = process.argv[2];
const src = require("fs").readFileSync(process.argv[3], "utf8");
const els = {};
function el(id) {
  return {
    id, textContent: "", hidden: id === "result", dataset: {}, href: "#", src: "",
    className: "", lang: "",
    appendChild(c) { this.textContent += c.textContent ? c.textContent : "\n"; },
    addEventListener() {},
  };
}
globalThis.document = {
  getElementById(id) { return els[id] || (els[id] = el(id)); },
  createElement(tag) { return el(tag); },
};
globalThis.history = { replaceState(_s, _t, u) { globalThis.pageURL = u; } };
const realFetch = globalThis.fetch;
globalThis.fetch = (u, o) => realFetch(base + u, o);
new Function(src)();
setInterval(() => {
  const g = (id) => document.getElementById(id);
  console.log(JSON.stringify({
    status: g("status").dataset.status, text: g("status").textContent,
    hsaid: g("hsaid").textContent, name: g("name").textContent,
    link: g("autostart-link").href, qr: g("qr").src, qrHidden: !!g("qr").hidden,
    resultHidden: !!g("result").hidden, url: globalThis.pageURL || "",
  }));
}, 100);
