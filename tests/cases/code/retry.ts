import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "./logger";

export const DEFAULT_ATTEMPTS = 4;
export const DEFAULT_BASE_DELAY_MS = 200;

/** Errors that a retry can help with: timeouts, resets, 429 and 5xx answers. */
export class TransientError extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(message: string, status?: number, retryAfterMs?: number) {
    super(message);
    this.name = "TransientError";
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  jitter?: (delayMs: number) => number;
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export type RetryOutcome<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: unknown; attempts: number };

export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) {
    return true;
  }
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code?: string }).code;
    return code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EAI_AGAIN";
  }
  return false;
}

export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  const exponential = baseDelayMs * 2 ** (attempt - 1);
  const capped = Math.min(exponential, maxDelayMs);
  return Math.max(0, Math.round(capped));
}

export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<RetryOutcome<T>> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const shouldRetry = options.shouldRetry ?? ((error) => isTransient(error));
  let lastError: unknown;

  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) {
      return { ok: false, error: options.signal.reason, attempts: attempt - 1 };
    }
    try {
      const value = await operation(attempt);
      return { ok: true, value, attempts: attempt };
    } catch (error) {
      lastError = error;
      if (attempt === attempts || !shouldRetry(error, attempt)) {
        break;
      }
      const hinted = error instanceof TransientError ? error.retryAfterMs : undefined;
      let delay = hinted ?? backoffDelay(attempt, baseDelayMs, maxDelayMs);
      if (options.jitter) {
        delay = options.jitter(delay);
      }
      options.logger?.warn(`attempt ${attempt} failed, retrying in ${delay} ms`, { error });
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
  return { ok: false, error: lastError, attempts };
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;

  constructor(
    private readonly threshold: number,
    private readonly coolDownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): "closed" | "open" | "half-open" {
    if (this.openedAt === null) {
      return "closed";
    }
    if (this.now() - this.openedAt >= this.coolDownMs) {
      return "half-open";
    }
    return "open";
  }

  async call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.state === "open") {
      throw new TransientError("circuit open");
    }
    try {
      const value = await operation();
      this.failures = 0;
      this.openedAt = null;
      return value;
    } catch (error) {
      this.failures += 1;
      if (this.failures >= this.threshold) {
        this.openedAt = this.now();
      }
      throw error;
    }
  }
}
