/** Every `kcr` command, in the order the overview lists them. A new command is one file and one line here. */
import type { Command } from '../command.js';
import { backfill } from './backfill.js';
import { check } from './check.js';
import { dead } from './dead.js';
import { enable } from './enable.js';
import { rejected, rejectedReplay } from './rejected.js';
import { replay } from './replay.js';
import { schema } from './schema.js';
import { show } from './show.js';
import { stats } from './stats.js';
import { tail } from './tail.js';
import { test } from './test.js';

export const COMMANDS: readonly Command[] = [tail, schema, check, test, dead, replay, backfill, rejected, rejectedReplay, enable, stats, show];
