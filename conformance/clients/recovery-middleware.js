"use strict";
// Connection state recovery, the server running middleware (see recovery-lib.js).
require("./recovery-lib")(false);
