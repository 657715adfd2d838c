/** The `kcr` entry by its first path (scripts and tests call `src/cli.ts`): the CLI lives in src/cli/. */
import './cli/main.js';
