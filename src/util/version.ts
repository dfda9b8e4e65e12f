// The version tskeepalived reports (-v, logs, /status, tskeepalived_info); below every layer that shows it.
export const VERSION = '0.1.0';
