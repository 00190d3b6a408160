(() => {
  "use strict";
  const me = document.currentScript;
  const page = me ? me.dataset.sitegenBuild : "";
  let host = null, before = null;
  const onKey = (event) => { if (event.key === "Escape") hide(); };
  const hide = () => {
    if (!host) return;
    host.remove();
    host = null;
    removeEventListener("keydown", onKey, true);
    if (before && before.isConnected && before.focus) before.focus();  /* back where the reader was */
    before = null;
  };
  const show = (html) => {
    const keep = host ? before : document.activeElement;
    hide();
    before = keep;
    host = document.createElement("div");
    host.id = "sitegen-overlay";
    const root = host.attachShadow({mode: "open"});
    root.innerHTML = html;  /* built and escaped by the sitegen server */
    const close = root.querySelector("button");
    if (close) close.addEventListener("click", hide);
    document.body.appendChild(host);
    /* a modal dialog over the page: focus goes to it, Escape closes it */
    const dialog = root.querySelector("[role=alertdialog]");
    if (dialog) { dialog.tabIndex = -1; dialog.focus({preventScroll: true}); }
    addEventListener("keydown", onKey, true);
  };
  /* a build id is "<server>-<generation>": only a newer generation (or another server) reloads */
  const newer = (build) => {
    if (!build || !page) return false;
    const [server, gen] = build.split("-"), [myServer, myGen] = page.split("-");
    return server !== myServer || Number(gen) > Number(myGen);
  };
  let stream = null;  /* this page's own event stream, where there is no shared one */
  const reload = () => { if (stream) stream.close(); location.reload(); };
  const handle = (name, data) => {
    if (name === "preview") {  /* an edited article's own page, ready before the rest of the site */
      if (data.pages.includes(location.pathname) && newer(data.build)) reload();
      return;
    }
    if (newer(data.build)) { reload(); return; }
    if (data.ok) hide(); else show(data.html);
  };
  const own = () => {
    stream = new EventSource("/__sitegen/events");
    for (const name of ["hello", "reload", "failed", "preview"]) {
      stream.addEventListener(name, (event) => { if (event.data) handle(name, JSON.parse(event.data)); });
    }
    /* refused (too many streams) or the server gone for good: try again, never give up */
    stream.onerror = () => { if (stream.readyState === EventSource.CLOSED) setTimeout(own, 2000); };
    addEventListener("pagehide", () => stream.close());
  };
  /* One stream for all of a browser's tabs, kept by a shared worker: a browser opens at most
     six connections to a host, and six tabs each holding a stream left none for a reload. */
  let shared = null;
  try {
    shared = new SharedWorker("/__sitegen/live-worker.js", {name: "sitegen-live"});
  } catch (e) {
    shared = null;  /* none in this browser, or not allowed here */
  }
  if (shared) {
    shared.onerror = () => { if (!stream) own(); };  /* its script did not load: a stream of our own */
    shared.port.onmessage = (m) => {
      if (m.data.name === "unsupported") own(); else handle(m.data.name, m.data.data);
    };
    shared.port.start();
    addEventListener("pagehide", () => shared.port.postMessage("bye"));
  } else {
    own();
  }
  document.documentElement.dataset.sitegenLive = "1";
})();
