// A minimal client: starts `algen lsp` (the `algen.path` setting) for .alg files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("algen").get("path") || "algen";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "algen",
    "algen",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "algen" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
