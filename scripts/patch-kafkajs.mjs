// npm postinstall: installs our two files over kafkajs 2.2.4's own. Any other kafkajs version is
// left alone with a warning: each file must be checked against it first.
//   scripts/kafkajs/filterAbortedMessages.js: read_committed consumers leaked records of aborted
//     transactions (a fix; see that file).
//   scripts/kafkajs/record-v0.js: the same record bytes, encoded without an allocation per header
//     and per varint (speed, issue 11; see that file).
//   scripts/kafkajs/crc32C.js: the same checksum, eight bytes a step (speed, issue 11).
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
const src = join(dirname(pkg), 'src');
const files = [
  ['filterAbortedMessages.js', join(src, 'consumer', 'filterAbortedMessages.js'), 'read_committed filtering of aborted transactions fixed'],
  ['record-v0.js', join(src, 'protocol', 'recordBatch', 'record', 'v0', 'index.js'), 'record encoding in one buffer'],
  ['crc32C.js', join(src, 'protocol', 'recordBatch', 'crc32C', 'crc32C.js'), 'CRC-32C eight bytes a step'],
];
if (version !== '2.2.4' || files.some(([, target]) => !existsSync(target))) {
  console.warn(`patch-kafkajs: kafkajs ${version} is not the version these files are for (2.2.4); left as it is`);
  process.exit(0);
}
for (const [ours, target, what] of files) {
  copyFileSync(join(here, 'kafkajs', ours), target);
  console.log(`patch-kafkajs: ${what} (kafkajs 2.2.4)`);
}
