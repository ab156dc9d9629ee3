// A load balancer for the client-cookie-routing row, written for the
// test: `node cookie-proxy.js <backend port>...` listens on a free port,
// prints `LISTENING <port>`, and forwards each HTTP request (long-polling
// only: no upgrades) to a backend on 127.0.0.1: the one whose answer set
// the request's `io` cookie, else the next in turn (round robin). A
// client that sends its cookies back stays on one server; one that does
// not lands on another with its session id and is refused.
"use strict";
const http = require("http");

const backends = process.argv.slice(2).map(Number);
let turn = 0;
// io cookie value -> backend port, learned from Set-Cookie (bounded).
const owners = new Map();

function ioCookie(header) {
  for (const pair of (header || "").split(";")) {
    const [name, ...value] = pair.trim().split("=");
    if (name === "io") return value.join("=");
  }
  return null;
}

function learn(setCookies, backend) {
  for (const line of setCookies || []) {
    const value = ioCookie(line.split(";")[0]);
    if (value === null) continue;
    if (owners.size >= 10000) owners.delete(owners.keys().next().value);
    owners.set(value, backend);
  }
}

const server = http.createServer((req, res) => {
  const cookie = ioCookie(req.headers.cookie);
  let backend = cookie !== null ? owners.get(cookie) : undefined;
  if (backend === undefined) {
    backend = backends[turn % backends.length];
    turn += 1;
  }
  const forward = http.request(
    { host: "127.0.0.1", port: backend, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      learn(answer.headers["set-cookie"], backend);
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
});
server.listen(0, "127.0.0.1", () => console.log(`LISTENING ${server.address().port}`));
