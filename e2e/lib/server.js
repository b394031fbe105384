// Starts `exitentry demo` on a free port in a fresh temporary directory and
// waits until /healthz answers. Every server gets its own working directory,
// so the demo database (./data/demo) never clashes with another run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { launchBrowser } from './browser.js';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_BIN = resolve(E2E_DIR, '../target/debug/exitentry');
const READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;
const STOP_GRACE_MS = 5_000;
const LOG_LIMIT = 64 * 1024;

/** Servers still running, killed synchronously if the test process exits or is interrupted. */
const live = new Set();
function reapAll() {
  for (const server of live) {
    server.killGroup('SIGKILL');
    if (!process.env.E2E_KEEP_TMP) rmSync(server.cwd, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', reapAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    reapAll();
    process.kill(process.pid, signal);
  });
}

export function binaryPath() {
  return process.env.EXITENTRY_BIN ? resolve(process.env.EXITENTRY_BIN) : DEFAULT_BIN;
}

/** Asks the kernel for a port that is free right now. */
async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Keeps the last LOG_LIMIT characters of a stream. */
function tail() {
  let text = '';
  return {
    push(chunk) {
      text += chunk;
      if (text.length > LOG_LIMIT) text = text.slice(-LOG_LIMIT);
    },
    get text() {
      return text;
    },
  };
}

/**
 * Starts the demo server. Resolves to { baseURL, stop(), logs() } once
 * GET /healthz returns "ok". Retries with another port if the process dies
 * before it is ready (e.g. someone grabbed the port in between).
 */
export async function startServer({ people = 2000, attempts = 3, clockStart } = {}) {
  const bin = binaryPath();
  if (!existsSync(bin)) {
    throw new Error(`exitentry binary not found at ${bin} (set EXITENTRY_BIN or build it first)`);
  }
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await startOnce(bin, people, clockStart);
    } catch (err) {
      lastError = err;
      if (!err.exitedEarly) break;
    }
  }
  throw lastError;
}

async function startOnce(bin, people, clockStart) {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'exitentry-e2e-'));
  const baseURL = `http://127.0.0.1:${port}`;
  const out = tail();
  const args = ['demo', '--listen', `127.0.0.1:${port}`, '--people', String(people)];
  // The demo's clock can start on a chosen morning, so a working day can be walked at any hour.
  if (clockStart) args.push('--clock-start', clockStart);
  const child = spawn(bin, args, {
    cwd,
    // Own process group, so stop() can take down the server and anything it spawned.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  child.stdout.setEncoding('utf8').on('data', (c) => out.push(c));
  child.stderr.setEncoding('utf8').on('data', (c) => out.push(c));

  let exited = null;
  const exitPromise = new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit(exited);
    });
    child.once('error', (err) => {
      exited = { error: err };
      resolveExit(exited);
    });
  });

  const server = {
    baseURL,
    cwd,
    pid: child.pid,
    logs: () => out.text,
    killGroup(signal) {
      if (exited || !child.pid) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Group already gone.
      }
    },
    async stop() {
      if (!exited) {
        server.killGroup('SIGTERM');
        const timer = delay(STOP_GRACE_MS).then(() => 'timeout');
        if ((await Promise.race([exitPromise, timer])) === 'timeout') {
          server.killGroup('SIGKILL');
          await exitPromise;
        }
      }
      live.delete(server);
      if (!process.env.E2E_KEEP_TMP) rmSync(cwd, { recursive: true, force: true });
    },
  };
  live.add(server);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited) {
      await server.stop();
      const err = new Error(
        `exitentry demo exited before it was ready (${JSON.stringify(exited)}):\n${out.text}`,
      );
      err.exitedEarly = true;
      throw err;
    }
    try {
      const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.text()).trim();
      if (res.ok && body === 'ok') return server;
      lastProblem = `HTTP ${res.status}: ${body.slice(0, 200)}`;
    } catch (err) {
      lastProblem = err.cause?.code ?? err.message;
    }
    await delay(POLL_INTERVAL_MS);
  }
  await server.stop();
  throw new Error(
    `exitentry demo did not answer ${baseURL}/healthz within ${READY_TIMEOUT_MS / 1000} s ` +
      `(last: ${lastProblem}):\n${out.text}`,
  );
}

/**
 * A journey file's demo server and browser (and, with `workDir`, a scratch folder): started
 * before its tests, stopped and removed after them. The returned object holds them as
 * `server`, `browser` and `work` once the file's tests run.
 */
export function useDemo({ workDir, ...options } = {}) {
  const demo = {};
  before(async () => {
    demo.server = await startServer(options);
    demo.browser = await launchBrowser();
    if (workDir) demo.work = mkdtempSync(join(tmpdir(), `exitentry-e2e-${workDir}-`));
  });
  after(async () => {
    await demo.browser?.close();
    await demo.server?.stop();
    if (demo.work) rmSync(demo.work, { recursive: true, force: true });
  });
  return demo;
}
