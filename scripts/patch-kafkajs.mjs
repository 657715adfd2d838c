// npm postinstall: installs scripts/kafkajs/filterAbortedMessages.js over kafkajs 2.2.4's own
// (read_committed consumers leak records of aborted transactions; see that file). Any other
// kafkajs version is left alone with a warning: the fix must be checked against it first.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'package.json'));
let pkg;
try {
  pkg = require.resolve('kafkajs/package.json');
} catch {
  process.exit(0); // not installed (yet): nothing to patch
}
const { version } = JSON.parse(readFileSync(pkg, 'utf8'));
const target = join(dirname(pkg), 'src', 'consumer', 'filterAbortedMessages.js');
if (version !== '2.2.4' || !existsSync(target)) {
  console.warn(`patch-kafkajs: kafkajs ${version} is not the version the aborted-transaction fix is for (2.2.4); left as it is`);
  process.exit(0);
}
copyFileSync(join(here, 'kafkajs', 'filterAbortedMessages.js'), target);
console.log('patch-kafkajs: read_committed filtering of aborted transactions fixed in kafkajs 2.2.4');
