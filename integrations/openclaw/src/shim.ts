#!/usr/bin/env node
// The exec shim: OpenClaw's sandbox backends hand the gateway a local command to spawn, so this
// is that command. It runs `--session ID -- ARGV...` in the skillrt session over Exec, relays its
// own stdin, writes stdout and stderr as they stream, and exits with the command's exit status
// (126 and one line on stderr when the daemon refuses or cannot be reached). Plain Node with a
// short import list: every agent command pays its start-up.
import type { ClientDuplexStream } from "@grpc/grpc-js";

import type { Connection } from "./config.js";
import { explain, metadata, openClient } from "./connection.js";
import {
  type ExecEvent,
  finishedNote,
  parseShimArguments,
  pendingNote,
  REFUSED,
  SETTINGS_VARIABLE,
} from "./exec-events.js";

type ExecCall = ClientDuplexStream<object, ExecEvent>;

function settings(): Connection {
  const text = process.env[SETTINGS_VARIABLE];
  if (!text) throw new Error(`${SETTINGS_VARIABLE} is not set: this program is started by the skillrt OpenClaw plugin`);
  return JSON.parse(text) as Connection;
}

function run(): Promise<number> {
  const connection = settings();
  const { sessionId, argv } = parseShimArguments(process.argv.slice(2));
  const client = openClient(connection, "Sessions") as unknown as {
    Exec(meta: ReturnType<typeof metadata>): ExecCall;
  };
  return new Promise<number>((resolve) => {
    const call = client.Exec(metadata(connection));
    let settled = false;
    const settle = (code: number, note?: string): void => {
      if (settled) return;
      settled = true;
      if (note) process.stderr.write(note);
      resolve(code);
    };
    call.on("data", (event: ExecEvent) => {
      if (event.output) {
        (event.output.stream === "STREAM_STDERR" ? process.stderr : process.stdout).write(event.output.data);
      } else if (event.pending_approval) {
        process.stderr.write(pendingNote(event.pending_approval));
      } else if (event.finished) {
        settle(event.finished.exit_status, finishedNote(event.finished.result));
      }
    });
    call.on("error", (error: Error) => settle(REFUSED, `skillrt exec: ${explain(error, connection).message}\n`));
    call.on("end", () => settle(REFUSED, "skillrt exec: the daemon ended the command without a result\n"));
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      process.on(signal, () => {
        call.cancel(); // the daemon kills the command when its call goes away
        settle(128 + (signal === "SIGINT" ? 2 : signal === "SIGHUP" ? 1 : 15));
      });
    }
    call.write({ start: { session_id: sessionId, argv, wait_for_approval: true } });
    relayStdin(call);
  });
}

function relayStdin(call: ExecCall): void {
  process.stdin.on("data", (chunk: Buffer) => {
    if (!call.write({ stdin: chunk })) {
      process.stdin.pause();
      call.once("drain", () => process.stdin.resume());
    }
  });
  process.stdin.on("end", () => call.end());
  process.stdin.on("error", () => call.end());
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`skillrt exec: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(REFUSED);
  },
);
