// The small logging surface the LB backends need; a pino Logger satisfies it.
export interface LbLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: LbLogger = { info: noop, warn: noop, error: noop, debug: noop };

/** Where text output (dry-run dumps) goes: a stream such as process.stdout, or any writer. */
export interface TextSink {
  write(chunk: string): unknown;
}
