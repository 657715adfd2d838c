/** The process entry point: the only place that listens and handles signals. */
import { ConfigError } from './errors.js';
import { createLogger } from './log.js';
import { configPath, loadRoutesFile } from './route/load.js';
import { watchConfig } from './route/reload.js';
import { startRouter } from './router.js';
import { argvSettings, loadSettings } from './settings.js';

const logger = createLogger();

async function main(): Promise<void> {
  const settings = loadSettings({ ...process.env, ...argvSettings(process.argv.slice(2)) });
  const path = configPath();
  const { config, hash } = await loadRoutesFile(path);
  logger.info('routes loaded', { config: path, rules: config.table.rules.length, topics: [...config.destinations.values()].filter((d) => d.kind === 'kafka').length, webhooks: [...config.destinations.values()].filter((d) => d.kind === 'webhook').length });
  const router = await startRouter({ config, settings, logger, configPath: path, configHash: hash });
  // The reload logs its outcome (and a refusal's errors) itself; the old config serves on a refusal.
  const reload = (trigger: 'SIGHUP' | 'watch') => void router.reload(trigger).catch((err) => logger.error('routes config reload failed', { trigger, error: String(err) }));
  process.on('SIGHUP', () => reload('SIGHUP'));
  const stopWatching = settings.configWatch.enabled ? watchConfig(path, () => reload('watch'), { debounceMs: settings.configWatch.debounceMs, logger }) : () => undefined;
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1);
    stopWatching();
    logger.info('shutting down', { signal, deadline_ms: settings.shutdownTimeoutMs });
    router.close().then(
      () => process.exit(0),
      (err) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`kaleyra-callback-router: ${err.message}\n`);
    process.exit(2);
  }
  logger.error('start-up failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
