/**
 * Structured JSON-lines logs through pino, to stderr; LOG_LEVEL=debug|info|warn|error|silent.
 * Every line's fields pass through `redactFields` first (credentials replaced, phone numbers
 * masked but their last four digits, secrets in URLs masked); LOG_REDACT=false turns that off
 * for a debugging session on a machine of your own.
 */
import pino from 'pino';
import { redactFields, redactText } from './redact.js';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger writing one JSON object per line: `{"level":"info","time":"<ISO>","msg":"...", ...fields}`.
 * `write` receives each line (newline included): tests pass one to read what was logged.
 * @example createLogger('debug', (line) => lines.push(line)).info('router listening', { port: 8080 })
 */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  write: (line: string) => unknown = (line) => process.stderr.write(line),
  redact: boolean = process.env.LOG_REDACT?.trim().toLowerCase() !== 'false',
): Logger {
  const base = pino(
    {
      level: (LEVELS as readonly string[]).includes(level) ? level : 'info',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => (redact ? redactFields(fields) : fields),
      },
    },
    // A plain stream: pino writes each line to it synchronously, so nothing is lost at exit.
    { write: (line: string) => void write(line) },
  );
  const emit = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    // The message itself may quote a URL (`POST https://...?token=...`).
    const text = redact ? redactText(msg) : msg;
    if (fields) base[lvl](fields, text);
    else base[lvl](text);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = createLogger('silent');
