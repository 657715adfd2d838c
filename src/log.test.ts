import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture(level = 'debug', redact?: boolean): { lines: () => Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const raw: string[] = [];
  const logger = createLogger(level, (line) => raw.push(line), redact);
  return { lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>), logger };
}

describe('createLogger (pino)', () => {
  it('writes one JSON line per call with level, ISO time, message and fields', () => {
    const { logger, lines } = capture();
    logger.info('router listening', { port: 8080 });
    const [line] = lines();
    expect(line).toMatchObject({ level: 'info', msg: 'router listening', port: 8080 });
    expect(new Date(String(line!.time)).toISOString()).toBe(line!.time);
  });

  it('drops lines below its level', () => {
    const { logger, lines } = capture('warn');
    logger.info('quiet');
    logger.error('loud');
    expect(lines().map((l) => l.msg)).toEqual(['loud']);
  });

  it('redacts an Authorization header and masks a recipient number by default', () => {
    const { logger, lines } = capture();
    logger.warn('callback refused', {
      headers: { Authorization: 'Bearer eyJhbGciOi.secret', 'x-api-key': 'k-123', 'content-type': 'application/json' },
      recipient: '919620838123',
      event: { to: '+91 96208 38123', client_secret: 's3cr3t' },
      url: 'https://hooks.example/sms?token=abc',
    });
    const text = JSON.stringify(lines());
    expect(text).not.toMatch(/eyJhbGciOi|k-123|s3cr3t|9620838123|96208 38123|token=abc/);
    expect(lines()[0]).toMatchObject({
      headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', 'content-type': 'application/json' },
      recipient: '********8123',
      event: { to: '+** ***** *8123', client_secret: '[REDACTED]' },
      url: 'https://hooks.example/sms?token=***',
    });
  });

  it('redacts a URL quoted in the message itself', () => {
    const { logger, lines } = capture();
    logger.error('POST https://u:p@hooks.example/x?key=abc failed');
    expect(lines()[0]!.msg).toBe('POST https://***@hooks.example/x?key=*** failed');
  });

  it('leaves everything as it is with redaction turned off (LOG_REDACT=false)', () => {
    const { logger, lines } = capture('info', false);
    logger.info('raw', { authorization: 'Bearer x', recipient: '919620838123' });
    expect(lines()[0]).toMatchObject({ authorization: 'Bearer x', recipient: '919620838123' });
  });
});
