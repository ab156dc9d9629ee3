"use strict";
// Connection state recovery, the server skipping middleware (see recovery-lib.js).
require("./recovery-lib")(true);
