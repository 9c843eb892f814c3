--- :checkhealth hermes_lsp
local config = require("hermes_lsp.config")
local status = require("hermes_lsp.status")
local util = require("hermes_lsp.util")

local M = {}

function M.check()
  local health = vim.health
  health.start("hermes_lsp")
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.10 or newer is needed", { "Upgrade Neovim" })
  end
  if util.paths().native_ghost then
    health.ok("ghost text: vim.lsp.inline_completion (built in)")
  else
    health.ok("ghost text: this plugin's extmarks (vim.lsp.inline_completion needs Neovim 0.12)")
  end

  local cmd, problem = config.server_cmd()
  if not cmd then
    health.error(problem, { config.install_hint })
    return
  end
  local version = vim.system({ cmd[1], "--version" }, { text = true }):wait(10000)
  if version.code == 0 then
    health.ok(("%s: %s"):format(cmd[1], vim.trim(version.stdout or "")))
  else
    health.error(("%s --version failed: %s"):format(cmd[1], vim.trim(version.stderr or "")), { config.install_hint })
    return
  end

  local client = util.client(nil)
  if client then
    health.ok(("client %d is running (root %s)"):format(client.id, client.root_dir or "none"))
  else
    health.warn("hermes-lsp is not running", { "Open a file, or check :LspLog and require('hermes_lsp').setup{} options" })
  end

  -- The model server is checked once, live, by `hermes-lsp doctor` (settings, grammars, index
  -- cache, model server), against the endpoint the running server uses. The state the server
  -- last pushed may be older than that check, so it is reported only as what it is.
  -- vim.system adds `env` to the inherited environment.
  local endpoint = config.options.settings.endpoint
  local env = endpoint and { HERMES_LSP_ENDPOINT = endpoint } or nil
  local doctor = vim.system({ cmd[1], "doctor" }, { text = true, env = env }):wait(20000)
  local report = vim.trim((doctor.stdout or "") .. "\n" .. (doctor.stderr or ""))
  if doctor.code == 0 then
    health.ok("hermes-lsp doctor:\n" .. report)
  else
    health.error("hermes-lsp doctor:\n" .. report, { "Follow the advice above" })
  end
  if client then
    local last = ("the running server last reported: %s%s"):format(
      status.state,
      status.message ~= "" and (" (" .. status.message .. ")") or ""
    )
    health.info(last)
  end
end

return M
