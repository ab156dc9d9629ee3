// The bench app on the Node socket.io server with its defaults: `echo`
// answers through its ack with the same payload, `fanout` emits `tick`
// with the payload to every socket in room `bench`, which every socket
// joins on connect.
const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const io = new Server(httpServer);
io.on("connection", (socket) => {
  socket.join("bench");
  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });
  socket.on("fanout", (data) => {
    io.to("bench").emit("tick", data);
  });
});
// Loopback only, as the Rust servers.
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${port}`);
});
