// The skillrt OpenClaw plugin: the `skillrt` sandbox backend and the skillrt tools.
import { join } from "node:path";

import { definePluginEntry, type OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { registerSandboxBackend } from "openclaw/plugin-sdk/sandbox";

import { BACKEND_ID, skillrtBackend } from "./backend.js";
import { ConfigError, parseConfig, PLUGIN_ID, type PluginConfig } from "./config.js";
import { Daemon } from "./daemon.js";
import { FileKeyStore } from "./key-store.js";
import { type KeyStore, SessionKeeper } from "./sessions.js";
import { skillrtTools } from "./tools.js";

export default definePluginEntry({
  id: PLUGIN_ID,
  name: "skillrt",
  description: "Runs the agent's commands in skillrt sandbox sessions, and skillrt's JSON tools as agent tools",
  register(api) {
    const config = configOnce(api);
    let daemon: Daemon | undefined;
    let keeper: SessionKeeper | undefined;
    const getDaemon = (): Daemon => (daemon ??= new Daemon(config()));
    const getKeeper = (): SessionKeeper => (keeper ??= new SessionKeeper(getDaemon().sessions(), keyStore(api)));

    for (const tool of skillrtTools(getDaemon)) api.registerTool(tool);
    if (api.registrationMode !== "full") return;
    const unregister = registerSandboxBackend(BACKEND_ID, skillrtBackend({ config, keeper: getKeeper }));
    api.lifecycle.registerRuntimeLifecycle({
      id: "skillrt-backend",
      cleanup: ({ reason, sessionKey, runId }) => {
        if (sessionKey !== undefined || runId !== undefined) return; // one run ended, not the plugin
        if (reason === "disable" || reason === "restart") {
          unregister();
          daemon?.close();
        }
      },
    });
  },
});

/**
 * A configuration mistake is logged once at start-up and is then the error of every use, so an
 * agent run fails with a message that names the setting instead of the backend going missing.
 */
function configOnce(api: OpenClawPluginApi): () => PluginConfig {
  let parsed: PluginConfig | ConfigError;
  try {
    parsed = parseConfig(api.pluginConfig);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    api.logger.error(error.message);
    parsed = error;
  }
  return () => {
    if (parsed instanceof ConfigError) throw parsed;
    return parsed;
  };
}

function keyStore(api: OpenClawPluginApi): KeyStore {
  return new FileKeyStore(join(api.runtime.state.resolveStateDir(), "plugins", PLUGIN_ID, "sessions.json"));
}
