// The compiled addon (native/ecdsa_digest.c), built into build/Release by `npm ci` (root prepare).
module.exports = require('../build/Release/sigstack_native.node');
