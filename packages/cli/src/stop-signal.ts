// Resolves when the process is asked to stop (SIGINT or SIGTERM): what every `serve` waits for
// before closing its service.
export function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
