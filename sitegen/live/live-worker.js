(() => {
  "use strict";
  const ports = new Set();
  let last = null, stream = null;
  const send = (message) => { for (const port of ports) port.postMessage(message); };
  const connect = () => {
    stream = new EventSource("/__sitegen/events");
    for (const name of ["hello", "reload", "failed", "preview"]) {
      stream.addEventListener(name, (event) => {
        if (!event.data) return;
        const message = {name, data: JSON.parse(event.data)};
        if (name !== "preview") last = message;
        send(message);
      });
    }
    stream.onerror = () => {
      last = null;  /* the server is gone or restarting: its last word is no news for a new page */
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  };
  self.onconnect = (event) => {
    const port = event.ports[0];
    port.onmessage = (m) => { if (m.data === "bye") ports.delete(port); };
    port.start();
    if (typeof EventSource !== "function") { port.postMessage({name: "unsupported"}); return; }
    ports.add(port);
    if (last) port.postMessage(last);
    if (!stream) connect();
  };
})();
