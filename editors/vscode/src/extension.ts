// Lathe for VS Code: starts `lathe lsp` (which connects to the daemon, starting it if
// needed) and lets vscode-languageclient do the rest: code actions, progress, approvals
// (showMessageRequest), applied edits (undo with Ctrl+Z), review diagnostics, slash-command
// completion in *.lathe.md chat documents. The commands below only name Lathe's LSP commands.
import * as path from "path";
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function initializationOptions(config: vscode.WorkspaceConfiguration): Record<string, string> {
  const options: Record<string, string> = {};
  for (const key of ["model", "approval", "sandbox", "chatFile"]) {
    const value = config.get<string | null>(key);
    if (value) {
      options[key] = value;
    }
  }
  return options;
}

async function run(command: string, argument: object = {}): Promise<unknown> {
  if (!client) {
    void vscode.window.showWarningMessage("Lathe is not running");
    return undefined;
  }
  return client.sendRequest("workspace/executeCommand", { command, arguments: [argument] });
}

function chatUri(): string | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document && document.fileName.endsWith(".lathe.md") ? document.uri.toString() : undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("lathe");
  const command = config.get<string>("command", "lathe");
  const args = config.get<boolean>("inProcess", false) ? ["lsp", "--in-process"] : ["lsp"];
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: initializationOptions(config),
  };
  client = new LanguageClient("lathe", "Lathe", serverOptions, clientOptions);

  const register = (name: string, action: () => Promise<unknown>) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, action));
  register("lathe.send", () => run("lathe.chat.send", chatUri() ? { uri: chatUri() } : {}));
  register("lathe.cancel", () => run("lathe.run.cancel"));
  register("lathe.undoRun", () => run("lathe.undo"));
  register("lathe.newSession", () => run("lathe.session.new", chatUri() ? { uri: chatUri() } : {}));
  register("lathe.openDashboard", () => run("lathe.dashboard.open"));
  register("lathe.openChat", async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showWarningMessage("Open a folder to chat with Lathe");
      return;
    }
    const file = vscode.Uri.file(path.join(folder.uri.fsPath, config.get<string>("chatFile", ".lathe/chat.lathe.md")));
    try {
      await vscode.workspace.fs.stat(file);
    } catch {
      await vscode.workspace.fs.writeFile(file, Buffer.from("## You\n\n"));
    }
    await vscode.window.showTextDocument(file);
  });

  await client.start();
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
