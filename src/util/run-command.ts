// Run a command with stdin text, collecting its output; never throws for a non-zero exit.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** spawn failure (e.g. ENOENT) */
  error?: Error;
}

export function runCommand(argv: readonly string[], input: string, timeoutMs = 10_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    let failure: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (e) => (failure = e));
    child.stdin.on('error', () => {});
    child.on('close', (code) => resolve({ code, stdout, stderr, error: failure }));
    child.stdin.end(input);
  });
}
